using Scraper.Domain;

namespace Scraper.Storage.Copy;

/// <summary>
/// Writes a large block of one series' candles, with the coverage they complete, in ONE transaction,
/// so that an interrupted copy leaves either the whole block and its coverage or nothing of it.
/// The last version of a candle wins, whole, as with <see cref="ICandleStore.SaveResponse"/>.
/// </summary>
internal interface ICandleBulkWriter
{
    /// <summary>Writes <paramref name="candles"/> (all of <paramref name="series"/>) and merges <paramref name="covered"/> when given.</summary>
    void Write(SeriesKey series, IReadOnlyList<Candle> candles, TimeRange? covered);
}

