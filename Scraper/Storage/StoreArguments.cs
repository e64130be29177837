using Scraper.Domain;

namespace Scraper.Storage;

/// <summary>The argument checks of <see cref="ICandleStore"/> that every store makes before touching its data.</summary>
internal static class StoreArguments
{
    public static void CheckSeries(SeriesKey series) => ArgumentException.ThrowIfNullOrEmpty(series.Market, nameof(series));

    /// <summary>A response is rejected whole, before anything is written, when one candle is of another series.</summary>
    public static void CheckResponse(SeriesKey series, IReadOnlyList<Candle> candles)
    {
        ArgumentNullException.ThrowIfNull(candles);
        CheckSeries(series);
        foreach (var candle in candles)
        {
            if (candle is null || candle.Market != series.Market || candle.Unit != series.Unit)
                throw new ArgumentException($"every candle must belong to {series}; got {candle?.Market}/{candle?.Unit}", nameof(candles));
        }
    }

    /// <summary>A batch is rejected whole, before anything is written, when one candle is not of its entry's series.</summary>
    public static void CheckBatch(IReadOnlyList<SeriesCandles> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (var entry in batch)
        {
            ArgumentNullException.ThrowIfNull(entry, nameof(batch));
            CheckResponse(entry.Series, entry.Candles);
        }
    }
}
