using System.Reactive.Disposables;
using Scraper.Domain;
using Scraper.Exchange.Streaming;

namespace Scraper.Pipeline.Live;

/// <summary>
/// Which series the live follower writes and reconciles: every series when it follows alone; in a
/// fleet those whose follow lease this scraper holds, which change as scrapers come and go. Every
/// scraper still receives every series from the stream (it costs no REST budget), and keeps the
/// latest candle of each series it does not own, so a series it gains is written at once from what
/// the stream last sent (an illiquid market may send nothing more for minutes); the gain is reported
/// so that the follower first reconciles what the previous follower may have left unstored.
/// </summary>
internal sealed class LiveOwnership
{
    private static readonly IReadOnlySet<SeriesKey> None = new HashSet<SeriesKey>();
    private readonly Dictionary<SeriesKey, StreamCandle> _othersLatest = [];
    private readonly Lock _gate = new();
    private IReadOnlySet<SeriesKey>? _owned; // null: every series

    /// <summary>Whether the follower writes and reconciles <paramref name="key"/> now.</summary>
    public bool Owns(SeriesKey key) => Volatile.Read(ref _owned) is not { } owned || owned.Contains(key);

    /// <summary>The stream candles of the owned series; of the others, the latest of each is kept for <see cref="HandOver"/>.</summary>
    public IEnumerable<StreamCandle> Mine(IList<StreamCandle> batch)
    {
        if (Volatile.Read(ref _owned) is null) return batch; // alone: every series, nothing to keep
        var mine = new List<StreamCandle>(batch.Count);
        // Checked and kept under the lock, so that a candle of a series being gained is either mine or handed over.
        lock (_gate)
        {
            foreach (var message in batch)
            {
                var key = new SeriesKey(message.Candle.Market, message.Candle.Unit);
                if (Owns(key)) mine.Add(message);
                else if (!_othersLatest.TryGetValue(key, out var kept) || kept.At <= message.At) _othersLatest[key] = message;
            }
        }
        return mine;
    }

    /// <summary>The latest stream candle received of each of <paramref name="gained"/> while another scraper followed it.</summary>
    public IReadOnlyList<StreamCandle> HandOver(IEnumerable<SeriesKey> gained)
    {
        var handed = new List<StreamCandle>();
        lock (_gate)
        {
            foreach (var key in gained)
            {
                if (_othersLatest.Remove(key, out var kept)) handed.Add(kept);
            }
        }
        return handed;
    }

    /// <summary>
    /// Owns what <paramref name="changes"/> says, from nothing until its first set (null: every
    /// series, always); calls <paramref name="gained"/> with the series each change adds.
    /// </summary>
    public IDisposable Track(IObservable<IReadOnlySet<SeriesKey>>? changes, Action<IReadOnlyList<SeriesKey>> gained, Action<Exception> failed)
    {
        if (changes is null) return Disposable.Empty;
        Volatile.Write(ref _owned, None);
        return changes.Subscribe(owned =>
        {
            var before = Interlocked.Exchange(ref _owned, owned) ?? None;
            var added = owned.Where(k => !before.Contains(k)).ToList();
            if (added.Count > 0) gained(added);
        }, onError: failed);
    }
}
