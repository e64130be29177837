using System.Reactive.Linq;
using System.Reactive.Subjects;
using Microsoft.Extensions.Logging;
using Scraper.Domain;
using Scraper.Storage;

namespace Scraper.Pipeline;

/// <summary>
/// The collector's hook for sharing work with other scrapers through <see cref="IWorkLeases"/>:
/// windows are fetched under chunk leases (<see cref="LeasedPass"/>) and each series is followed by
/// one scraper (<see cref="FollowShare"/>). With leases that are not shared (SQLite) every call
/// passes straight through, so a single scraper works exactly as without it.
/// </summary>
internal sealed class FleetWork(IWorkLeases leases, ICandleStore store, IFleetEvents? events, TimeProvider time, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger("Scraper.Fleet");
    private readonly BehaviorSubject<IReadOnlySet<SeriesKey>> _followed = new(new HashSet<SeriesKey>());
    private FollowShare? _share;

    /// <summary>The leases behind this fleet.</summary>
    public IWorkLeases Leases => leases;

    /// <summary>The windows' results: all of them alone, or those of the chunks this scraper claimed in a fleet.</summary>
    public IObservable<WindowResult> Fetch(CandleFetchPipeline pipeline, IReadOnlyList<CandleWindow> windows, int maxInFlight, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        return leases.IsShared
            ? new LeasedPass(leases, store, pipeline, events, time, _logger, maxInFlight, stop).Fetch(windows)
            : pipeline.Fetch(windows, maxInFlight);
    }

    /// <summary>Whether this scraper follows <paramref name="key"/>: always alone, in a fleet while it holds the series' follow lease.</summary>
    public bool Follows(SeriesKey key) => !leases.IsShared || _share?.Follows(key) == true;

    /// <summary>The series this scraper follows in a fleet: the current set on subscription, then every change (nothing alone).</summary>
    public IObservable<IReadOnlySet<SeriesKey>> Followed => _followed.AsObservable();

    /// <summary>How long the follow loop sleeps: until <paramref name="wake"/> alone; in a fleet at most a third of a lease period, to notice a series it took over.</summary>
    public TimeSpan Sleep(TimeSpan wake) => leases.IsShared && wake > leases.Period / 3 ? leases.Period / 3 : wake;

    /// <summary>Starts sharing the following of <paramref name="series"/> (a fleet only; else null); disposing stops it and gives the series back.</summary>
    public IAsyncDisposable? Follow(IReadOnlyList<SeriesKey> series, CancellationToken stop)
    {
        if (!leases.IsShared) return null;
        _followed.OnNext(new HashSet<SeriesKey>());
        var share = _share = new FollowShare(leases, series, time, _logger, _followed.OnNext, events);
        var done = CancellationTokenSource.CreateLinkedTokenSource(stop);
        return new Stopper(done, Task.Run(() => share.RunAsync(done.Token), CancellationToken.None), time);
    }

    private sealed class Stopper(CancellationTokenSource done, Task running, TimeProvider time) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await done.CancelAsync();
            try
            {
                // The loop gives the leases back now; a database that is gone does not hold up the stop.
                await running.WaitAsync(TimeSpan.FromSeconds(2), time);
            }
            catch (TimeoutException)
            {
            }
            done.Dispose();
        }
    }
}
