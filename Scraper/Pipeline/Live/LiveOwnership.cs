using System.Reactive.Disposables;
using Scraper.Domain;
using Scraper.Exchange.Streaming;

namespace Scraper.Pipeline.Live;

/// <summary>
/// Which series the live follower writes and reconciles: every series when it follows alone; in a
/// fleet those whose follow lease this scraper holds, which change as scrapers come and go. Every
/// scraper still receives every series from the stream (it costs no REST budget), so a series it
/// gains is written from its next stream message on; the gain is reported so that the follower
/// first reconciles what the previous follower may have left unstored.
/// </summary>
internal sealed class LiveOwnership
{
    private static readonly IReadOnlySet<SeriesKey> None = new HashSet<SeriesKey>();
    private IReadOnlySet<SeriesKey>? _owned; // null: every series

    /// <summary>Whether the follower writes and reconciles <paramref name="key"/> now.</summary>
    public bool Owns(SeriesKey key) => Volatile.Read(ref _owned) is not { } owned || owned.Contains(key);

    /// <summary>The stream candles of the owned series.</summary>
    public IEnumerable<StreamCandle> Mine(IEnumerable<StreamCandle> batch) => batch.Where(m => Owns(new SeriesKey(m.Candle.Market, m.Candle.Unit)));

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
