using Scraper.Domain;

namespace Scraper.Storage;

/// <summary>
/// The durable candle store. Coverage (which time ranges were fetched completely) is kept beside
/// the candles and written in the same transaction, so a restart knows exactly what is missing.
/// Every implementation passes the contract tests (Scraper.Tests/TestKit/Storage/CandleStoreContractTests.cs)
/// and shares <see cref="Coverage"/>, <see cref="StoredText"/> and <see cref="SchemaMigrator"/>.
/// </summary>
internal interface ICandleStore : IDisposable
{
    /// <summary>
    /// Stores one exchange response in ONE transaction: upserts every candle (keyed by market,
    /// unit, start) and, when <paramref name="covered"/> is given, merges it into the series'
    /// coverage. Returns the number of candles written.
    /// </summary>
    int SaveResponse(SeriesKey series, IReadOnlyList<Candle> candles, TimeRange? covered);

    /// <summary>
    /// Upserts the candles of many series in ONE transaction (one commit to disk for the lot) and
    /// touches no coverage: for candles that prove nothing complete, such as the stream's forming
    /// ones. The upsert rule is <see cref="SaveResponse"/>'s (the last candle of a key wins, whole).
    /// The whole batch is refused before anything is written when a candle is not of its entry's
    /// series. Returns the number of candles written.
    /// </summary>
    int SaveUncovered(IReadOnlyList<SeriesCandles> batch);

    /// <summary>The covered ranges of a series, merged, sorted by start.</summary>
    IReadOnlyList<TimeRange> GetCoverage(SeriesKey series);

    /// <summary>Every series that has candles or coverage.</summary>
    IReadOnlyList<SeriesKey> ListSeries();

    /// <summary>Number of candles of a series with start in [from, to) (null bounds are open).</summary>
    long CountCandles(SeriesKey series, DateTimeOffset? from = null, DateTimeOffset? to = null);

    /// <summary>Candles of a series with start in [from, to), oldest first, streamed.</summary>
    IEnumerable<Candle> ReadCandles(SeriesKey series, DateTimeOffset? from = null, DateTimeOffset? to = null);

    /// <summary>Start of the newest stored candle of a series, or null.</summary>
    DateTimeOffset? NewestCandleStart(SeriesKey series);
}
