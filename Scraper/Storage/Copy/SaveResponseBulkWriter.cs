using Scraper.Domain;

namespace Scraper.Storage.Copy;

/// <summary>The bulk path of a store without one: a block is one <see cref="ICandleStore.SaveResponse"/> (one transaction).</summary>
internal sealed class SaveResponseBulkWriter(ICandleStore store) : ICandleBulkWriter
{
    /// <inheritdoc />
    public void Write(SeriesKey series, IReadOnlyList<Candle> candles, TimeRange? covered) => store.SaveResponse(series, candles, covered);
}
