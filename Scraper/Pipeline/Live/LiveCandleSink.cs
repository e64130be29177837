using Scraper.Domain;
using Scraper.Exchange.Streaming;
using Scraper.Storage;

namespace Scraper.Pipeline.Live;

/// <summary>
/// Writes a batch of stream candles: the last update of each candle wins, one transaction for the
/// whole batch, no coverage (only REST proves an interval complete). Only the forming candle and the
/// one that closed last are taken: anything older is REST's, so a late stream message can never
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
            // By receipt: a candle handed over at a takeover may come after newer ones of its series.
            if (!latest.TryGetValue((key, c.StartUtc), out var had) || had.At <= message.At) latest[(key, c.StartUtc)] = message;
        }
        var series = latest.GroupBy(kv => kv.Key.Item1, kv => kv.Value)
            .Select(g => (Key: g.Key, Messages: g.OrderBy(m => m.Candle.StartUtc).ToList()))
            .ToList();
        if (series.Count == 0) return [];
        // Each commit is a disk sync: one per flush keeps the flush short however many series it holds.
        store.SaveUncovered([.. series.Select(s => new SeriesCandles(s.Key, s.Messages.ConvertAll(m => m.Candle)))]);
        var storedAt = time.GetUtcNow();
        return series.ConvertAll(s =>
        {
            // A snapshot repeats an older candle on (re)connecting: it says nothing about how live the stream is.
            var lags = s.Messages.Where(m => !m.Snapshot && m.Candle.EndUtc <= storedAt).Select(m => storedAt - m.Candle.EndUtc).ToList();
            return new LiveStored(s.Key, s.Messages.Count, lags.Count > 0 ? lags.Max() : null);
        });
    }
}
