using Scraper.Domain;

namespace Scraper.Exchange.Streaming;

/// <summary>A candle as it stands now (the same interval comes again while it forms: the last one wins).</summary>
internal sealed record StreamCandle(DateTimeOffset At, Candle Candle, bool Snapshot) : StreamEvent(At);
