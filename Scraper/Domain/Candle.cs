namespace Scraper.Domain;

/// <summary>
/// One candle exactly as the exchange sent it. Prices and volumes are <see cref="decimal"/> so no
/// digit is lost between the JSON and the database. The day-only fields are null for minute candles.
/// </summary>
internal sealed record Candle(
    string Market,
    CandleUnit Unit,
    DateTimeOffset StartUtc,
    string StartKst,
    decimal OpeningPrice,
    decimal HighPrice,
    decimal LowPrice,
    decimal TradePrice,
    long Timestamp,
    decimal AccTradePrice,
    decimal AccTradeVolume,
    decimal? PrevClosingPrice = null,
    decimal? ChangePrice = null,
    decimal? ChangeRate = null)
{
    /// <summary>The instant the candle closes (exclusive end of its interval).</summary>
    public DateTimeOffset EndUtc => StartUtc + Unit.Interval;
}
