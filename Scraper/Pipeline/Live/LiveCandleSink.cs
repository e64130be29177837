using Scraper.Domain;
using Scraper.Exchange.Streaming;
using Scraper.Storage;

namespace Scraper.Pipeline.Live;

/// <summary>
/// Writes a batch of stream candles: the last update of each candle wins, one transaction per
/// series, no coverage (only REST proves an interval complete). Only the forming candle and the one
/// that closed last are taken: anything older is REST's, so a late stream message can never
/// overwrite a candle that reconciliation has already made final.
/// </summary>
internal sealed class LiveCandleSink(ICandleStore store, IReadOnlySet<SeriesKey> followed, TimeProvider time)
{
    /// <summary>Stores the batch; one event per series written.</summary>
    public IReadOnlyList<LiveStored> Write(IEnumerable<StreamCandle> batch)
    {
        var now = time.GetUtcNow();
        var latest = new Dictionary<(SeriesKey, DateTimeOffset), StreamCandle>();
        foreach (var message in batch)
        {
            var c = message.Candle;
            var key = new SeriesKey(c.Market, c.Unit);
            if (!followed.Contains(key) || c.StartUtc < c.Unit.AlignDown(now) - c.Unit.Interval || c.StartUtc > now) continue;
            latest[(key, c.StartUtc)] = message;
        }
        var stored = new List<LiveStored>();
        foreach (var series in latest.GroupBy(kv => kv.Key.Item1, kv => kv.Value))
        {
            var messages = series.OrderBy(m => m.Candle.StartUtc).ToList();
            var candles = messages.ConvertAll(m => m.Candle);
            store.SaveResponse(series.Key, candles, covered: null);
            var storedAt = time.GetUtcNow();
            // A snapshot repeats an older candle on (re)connecting: it says nothing about how live the stream is.
            var lags = messages.Where(m => !m.Snapshot && m.Candle.EndUtc <= storedAt).Select(m => storedAt - m.Candle.EndUtc).ToList();
            stored.Add(new LiveStored(series.Key, candles.Count, lags.Count > 0 ? lags.Max() : null));
        }
        return stored;
    }
}
