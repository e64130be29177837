using Scraper.Exchange;

namespace Scraper.Storage;

// Placeholder until the storage branch lands.
public sealed class SqliteCandleStore : ICandleStore
{
    public static SqliteCandleStore Open(string path, TimeProvider time, bool readOnly = false) => throw new StoreException(path + time + readOnly);
    public string Path => "";
    public string IntegrityCheck() => "ok";
    public int SaveResponse(SeriesKey series, IReadOnlyList<Candle> candles, TimeRange? covered) => 0;
    public IReadOnlyList<TimeRange> GetCoverage(SeriesKey series) => [];
    public IReadOnlyList<SeriesKey> ListSeries() => [];
    public long CountCandles(SeriesKey series, DateTimeOffset? from = null, DateTimeOffset? to = null) => 0;
    public IEnumerable<Candle> ReadCandles(SeriesKey series, DateTimeOffset? from = null, DateTimeOffset? to = null) => [];
    public DateTimeOffset? NewestCandleStart(SeriesKey series) => null;
    public void Dispose() { }
}

public sealed class StoreException(string message) : Exception(message);

// Placeholder until the storage branch lands.
public enum ExportFormat { Csv, JsonLines }
public static class CandleExporter
{
    public static long Write(IEnumerable<Candle> candles, TextWriter output, ExportFormat format) => candles.LongCount() + output.GetHashCode() + (int)format;
}
