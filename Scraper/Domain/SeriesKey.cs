namespace Scraper.Domain;

/// <summary>A market and a candle unit: one series of candles.</summary>
internal readonly record struct SeriesKey(string Market, CandleUnit Unit)
{
    /// <inheritdoc />
    public override string ToString() => $"{Market}/{Unit.Name}";
}
