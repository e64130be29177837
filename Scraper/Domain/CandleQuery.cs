namespace Scraper.Domain;

/// <summary>One candle page request: candles of <see cref="Unit"/> starting strictly before <see cref="To"/>.</summary>
internal sealed record CandleQuery(string Market, CandleUnit Unit, DateTimeOffset To, int Count);
