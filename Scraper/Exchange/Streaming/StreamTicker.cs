namespace Scraper.Exchange.Streaming;

/// <summary>A ticker update.</summary>
internal sealed record StreamTicker(DateTimeOffset At, string Market, decimal TradePrice, long Timestamp) : StreamEvent(At);
