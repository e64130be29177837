using System.Collections.Concurrent;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using Microsoft.Extensions.Logging;
using Scraper.Domain;
using Scraper.Storage;

namespace Scraper.Pipeline;

/// <summary>
/// One pass of a scraper in a fleet: the planned windows are grouped into chunks on a grid that
/// every scraper shares, and a chunk is fetched only under its lease. A claimed chunk's windows are
/// planned again from coverage (another scraper may have finished it meanwhile), fetched, and the
/// lease released; leases are renewed while held. Chunks held by others are waited for, and taken
/// over once their lease has expired, so the pass ends when the whole plan is done by someone. A
/// chunk whose lease period runs out without a renewal (the database unreachable) starts no more
/// windows and goes back to the plan, to be claimed afresh once the database answers.
/// </summary>
internal sealed partial class LeasedPass(
    IWorkLeases leases,
    ICandleStore store,
    CandleFetchPipeline pipeline,
    IFleetEvents? events,
    TimeProvider time,
    ILogger logger,
    int maxInFlight,
    CancellationToken stop)
{
    /// <summary>Windows per chunk: a second of one scraper's budget, so a fleet does not fight over each window.</summary>
    public const int WindowsPerChunk = 10;

    /// <summary>How often a scraper that could claim nothing looks again: a chunk others hold is about a second of their work.</summary>
    private TimeSpan Recheck => leases.Period / 3 < TimeSpan.FromSeconds(1) ? leases.Period / 3 : TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<WorkLease, Chunk> _held = new();
    private readonly ConcurrentQueue<Chunk> _ended = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The pieces of the planned windows per chunk of the shared grid, in the order every scraper claims them.</summary>
    public static IReadOnlyDictionary<WorkLease, List<TimeRange>> Chunks(IEnumerable<CandleWindow> planned)
    {
        var chunks = new SortedDictionary<WorkLease, List<TimeRange>>(ChunkOrder.Instance);
        foreach (var window in planned)
        {
            var span = (window.Series.Unit.Interval * CandleWindow.MaxCandles * WindowsPerChunk).Ticks;
            for (var start = window.Start; start < window.End;)
            {
                var cell = new DateTimeOffset(start.UtcTicks - start.UtcTicks % span, TimeSpan.Zero);
                var end = cell.AddTicks(span) < window.End ? cell.AddTicks(span) : window.End;
                var key = new WorkLease(LeaseKind.Windows, window.Series, cell);
                if (!chunks.TryGetValue(key, out var pieces)) chunks[key] = pieces = [];
                pieces.Add(new TimeRange(start, end));
                start = end;
            }
        }
        return chunks;
    }

    /// <summary>The results of every window this scraper fetched; completes when no chunk of the plan is left.</summary>
    public IObservable<WindowResult> Fetch(IReadOnlyList<CandleWindow> planned) => Observable.Create<WindowResult>(observer =>
    {
        var chunks = new Subject<IObservable<WindowResult>>();
        var subscription = chunks.Merge().Subscribe(observer.OnNext, observer.OnError, observer.OnCompleted);
        var abandon = new CancellationTokenSource();
        _ = Task.Run(async () =>
        {
            try
            {
                await RunAsync(planned, chunks, abandon.Token);
                chunks.OnCompleted();
            }
            catch (StoreException e) when (stop.IsCancellationRequested)
            {
                // A database that is gone at the stop ends the pass like any stop: what is not stored stays a gap.
                LogStoppedWithoutDatabase(logger, e.Message);
                chunks.OnCompleted();
            }
            catch (Exception e)
            {
                chunks.OnError(e);
            }
        }, CancellationToken.None);
        return () =>
        {
            abandon.Cancel();
            subscription.Dispose();
        };
    });

    private async Task RunAsync(IReadOnlyList<CandleWindow> planned, IObserver<IObservable<WindowResult>> chunks, CancellationToken abandon)
    {
        var pending = new SortedDictionary<WorkLease, List<TimeRange>>(Chunks(planned).ToDictionary(), ChunkOrder.Instance);
        // A second of the rate being fetched and the next chunk claimed (maxInFlight is four seconds
        // of it): more held back would leave the end of the backlog to one scraper while the others idle.
        var maxHeld = Math.Max(2, (maxInFlight / 4 + WindowsPerChunk - 1) / WindowsPerChunk + 1);
        var candidates = maxHeld * 32; // enough to pass the chunks others hold at the front
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(abandon);
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(abandon, stop);
        var renewals = RenewAsync(renewing.Token);
        // On a timer of its own: while the database is gone the renewals hang in the store's retry.
        using var watch = time.CreateTimer(_ => DropExpired(), null, leases.Period / 6, leases.Period / 6);
        try
        {
            // Until the plan is done, or at a stop until the chunks in flight have ended.
            while (!_held.IsEmpty || (pending.Count > 0 && !stop.IsCancellationRequested))
            {
                var changed = Volatile.Read(ref _changed).Task;
                foreach (var dropped in ReleaseEnded()) pending[dropped.Lease] = dropped.Pieces;
                if (pending.Count == 0 || stop.IsCancellationRequested)
                {
                    if (!_held.IsEmpty) await Task.WhenAny(changed, Task.Delay(Timeout.InfiniteTimeSpan, time, abandon));
                    if (abandon.IsCancellationRequested) return;
                    continue;
                }
                events?.Pending(pending.Count + _held.Count);
                // Counted in windows, not chunks: the first and last chunk of a series hold only a few,
                // and two of those would leave the budget idle until the next claim.
                var missing = maxHeld * WindowsPerChunk - _held.Values.Sum(c => c.Windows);
                var granted = missing > 0 ? leases.Claim([.. pending.Keys.Take(candidates)], (missing + WindowsPerChunk - 1) / WindowsPerChunk) : [];
                foreach (var (lease, takenOver) in granted)
                {
                    if (!pending.Remove(lease, out var pieces))
                    {
                        leases.Release([lease]); // found fetched by others, below, after it was claimed
                        continue;
                    }
                    var covered = store.GetCoverage(lease.Series);
                    var windows = StillMissing(lease.Series, pieces, covered);
                    if (windows.Count == 0)
                    {
                        leases.Release([lease]);
                        // Others fetched it meanwhile, and likely the chunks after it too: those are dropped
                        // from the plan now, from the same coverage, rather than claimed one by one.
                        foreach (var done in pending.Where(p => p.Key.Series == lease.Series && StillMissing(p.Key.Series, p.Value, covered).Count == 0).Select(p => p.Key).ToList())
                            pending.Remove(done);
                        continue;
                    }
                    events?.WindowsClaimed(windows.Count, takenOver);
                    if (takenOver) LogTakenOver(logger, lease.ToString(), windows.Count);
                    var chunk = new Chunk(lease, windows.Count, pieces);
                    _held[lease] = chunk;
                    chunks.OnNext(FetchChunk(chunk, windows));
                }
                if (granted.Count > 0) continue;
                // Full, or the rest is held by others: wait for a chunk of ours to end, or look again
                // soon (theirs end within a second or two; expired ones are found as well).
                await Task.WhenAny(changed, Task.Delay(Recheck, time, waiting.Token));
                if (abandon.IsCancellationRequested) return;
            }
            ReleaseEnded();
            events?.Pending(0);
        }
        finally
        {
            await renewing.CancelAsync();
            await renewals;
        }
    }

    /// <summary>Marks the chunks whose lease period ran out without a renewal: they start no more windows and go back to the plan when they end.</summary>
    private void DropExpired()
    {
        var expired = leases.DropExpired(LeaseKind.Windows);
        if (expired.Count == 0) return;
        foreach (var lease in expired)
        {
            if (_held.TryGetValue(lease, out var chunk)) chunk.Dropped = true;
        }
        events?.LeasesDropped(LeaseKind.Windows, expired.Count);
        LogDropped(logger, expired.Count, leases.Period.TotalSeconds);
    }

    private IReadOnlyList<CandleWindow> StillMissing(SeriesKey series, List<TimeRange> pieces, IReadOnlyList<TimeRange> covered)
    {
        // Merged first, so that the windows align to the chunk's start and a chunk is whole windows.
        var coverable = WindowPlanner.CoverableEnd(series, time.GetUtcNow());
        // A gap after what another scraper covered that lies wholly in the still settling newest
        // candles is what it fetched but could not count as covered yet: like a scraper alone, the
        // fleet fetches it in the next pass, not once more per scraper that checks the chunk.
        return [.. WindowPlanner.Split(series, Coverage.Merge(pieces).SelectMany(p => Coverage.Gaps(covered, p).Where(g => g.Start == p.Start || g.Start < coverable)))];
    }

    /// <summary>A chunk's windows; once its lease is lost, dropped or past its period, windows not yet started are dropped.</summary>
    private IObservable<WindowResult> FetchChunk(Chunk chunk, IReadOnlyList<CandleWindow> windows) =>
        windows.ToObservable(ImmediateScheduler.Instance)
            .Select(w => Observable.Defer(() => !leases.Holds(chunk.Lease) ? Skip(chunk) : pipeline.FetchWindow(w)))
            .Merge(maxInFlight)
            .Finally(() =>
            {
                _ended.Enqueue(chunk);
                Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            });

    private static IObservable<WindowResult> Skip(Chunk chunk)
    {
        if (!chunk.Lost) chunk.Dropped = true;
        return Observable.Empty<WindowResult>();
    }

    /// <summary>
    /// Gives back the leases of chunks that ended (a dropped one's too: the release only deletes a
    /// lease that is still this scraper's); returns the dropped ones, to be planned again. At a stop
    /// a database that is gone only costs the others one lease period.
    /// </summary>
    private List<Chunk> ReleaseEnded()
    {
        var ended = new List<Chunk>();
        while (_ended.TryDequeue(out var chunk)) ended.Add(chunk);
        if (ended.Count == 0) return [];
        foreach (var chunk in ended) _held.TryRemove(chunk.Lease, out _);
        events?.WindowsCompleted(ended.Sum(c => c.Windows));
        var mine = ended.Where(c => !c.Lost).Select(c => c.Lease).ToList();
        try
        {
            leases.Release(mine);
        }
        catch (StoreException e) when (stop.IsCancellationRequested)
        {
            LogReleaseFailed(logger, mine.Count, e.Message);
        }
        return [.. ended.Where(c => c.Dropped && !c.Lost)];
    }

    private async Task RenewAsync(CancellationToken done)
    {
        while (!done.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(leases.Period / 3, time, done);
                var held = _held.Where(h => !h.Value.Dropped).Select(h => h.Key).ToList();
                if (held.Count == 0) continue;
                var kept = leases.Renew(held).ToHashSet();
                foreach (var lost in held.Where(h => !kept.Contains(h)))
                {
                    if (_held.TryGetValue(lost, out var chunk)) chunk.Lost = true;
                    LogLost(logger, lost.ToString());
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (StoreException e)
            {
                LogRenewFailed(logger, e.Message);
            }
        }
    }

    private sealed class Chunk(WorkLease lease, int windows, List<TimeRange> pieces)
    {
        private volatile bool _lost;
        private volatile bool _dropped;

        public WorkLease Lease { get; } = lease;

        public int Windows { get; } = windows;

        /// <summary>The plan's pieces of the chunk, to plan it again when it is dropped.</summary>
        public List<TimeRange> Pieces { get; } = pieces;

        /// <summary>Its lease period ran out without a renewal: this scraper may no longer hold it.</summary>
        public bool Dropped
        {
            get => _dropped;
            set => _dropped = value;
        }

        public bool Lost
        {
            get => _lost;
            set => _lost = value;
        }
    }

    /// <summary>Oldest chunk first, then market and unit: the order in which every scraper claims.</summary>
    private sealed class ChunkOrder : IComparer<WorkLease>
    {
        public static readonly ChunkOrder Instance = new();

        public int Compare(WorkLease? x, WorkLease? y)
        {
            if (ReferenceEquals(x, y)) return 0;
            if (x is null) return -1;
            if (y is null) return 1;
            var byStart = x.Start.CompareTo(y.Start);
            if (byStart != 0) return byStart;
            var byMarket = string.CompareOrdinal(x.Series.Market, y.Series.Market);
            return byMarket != 0 ? byMarket : x.Series.Unit.Interval.CompareTo(y.Series.Unit.Interval);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "took over {Lease} ({Windows} windows) from a scraper whose lease had expired")]
    private static partial void LogTakenOver(ILogger logger, string lease, int windows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lost the lease of {Lease} to another scraper (not renewed in time); its windows not yet started are left to it")]
    private static partial void LogLost(ILogger logger, string lease);

    [LoggerMessage(Level = LogLevel.Warning, Message = "dropped {Count} chunks of windows: no renewal of their leases for a lease period ({Seconds:0.#} s; the database is unreachable?), so they may be another scraper's; their windows not yet started are claimed afresh once the database answers")]
    private static partial void LogDropped(ILogger logger, int count, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "renewing leases failed: {Error}; trying again in a third of the lease period")]
    private static partial void LogRenewFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stop: the database was unavailable ({Error}); leases still held expire after one lease period")]
    private static partial void LogStoppedWithoutDatabase(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stop: {Count} leases could not be given back ({Error}); they expire after one lease period")]
    private static partial void LogReleaseFailed(ILogger logger, int count, string error);
}
