namespace Scraper.Exchange.Streaming;

/// <summary>Something the quotation stream reports; <see cref="At"/> is when it was received or happened (local clock).</summary>
internal abstract record StreamEvent(DateTimeOffset At);

