namespace Scraper.Exchange.Streaming;

/// <summary>A message that could not be read (counted and skipped).</summary>
internal sealed record StreamMalformed(DateTimeOffset At, string Problem) : StreamEvent(At);
