using System.Reactive.Concurrency;
using System.Reactive.Linq;
using Microsoft.Extensions.Logging;
using Scraper.Domain;
using Scraper.Storage;

namespace Scraper.Pipeline;

/// <summary>
/// Backfills and then follows the configured series. Both are the same mechanism: a pass plans
/// the windows that coverage says are missing in [since, now) and runs them through the pipeline.
/// The backfill is the first pass; following repeats a pass shortly after each candle closes. A
/// window that failed is simply still missing next time, so nothing is ever silently lost.
/// </summary>
internal sealed partial class CandleCollector(
    IReadOnlyList<SeriesKey> series,
    DateTimeOffset since,
    ICandleStore store,
    CandleFetchPipeline pipeline,
    RateLimitGroup limiter,
    CandleResultWriter writer,
    IPipelineTelemetry telemetry,
    TimeProvider time,
    IScheduler scheduler,
    ILogger<CandleCollector> logger,
    FleetWork? fleet = null)
{
    /// <summary>How long in-flight responses may take to arrive and be stored after a stop (back-off timers do not wait for it: a stop ends them).</summary>
    public static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    /// <summary>How long after a candle closes the follow pass asks for it.</summary>
    public static readonly TimeSpan FollowDelay = TimeSpan.FromSeconds(1);

    private bool _announced;

    /// <summary>Progress of the running pass, for a progress bar; null between passes.</summary>
    public BackfillProgress? Progress { get; private set; }

    /// <summary>The gaps of a series in [since, until), where until is capped to what may be covered now.</summary>
    public IReadOnlyList<TimeRange> Gaps(SeriesKey key, DateTimeOffset until)
    {
        var coverable = WindowPlanner.CoverableEnd(key, time.GetUtcNow());
        return WindowPlanner.Missing(key, store.GetCoverage(key), since, until < coverable ? until : coverable);
    }

    /// <summary>
    /// One pass: fetches every window missing in [since, min(until, closed candles)) of the
    /// included series. On <paramref name="stop"/> no new request starts; responses in flight are
    /// still stored for up to <see cref="ShutdownGrace"/>.
    /// </summary>
    public async Task<PassSummary> RunPassAsync(DateTimeOffset until, Func<SeriesKey, bool>? include, bool logProgress, CancellationToken stop)
    {
        var now = time.GetUtcNow();
        var plan = new Dictionary<SeriesKey, (TimeRange Wanted, TimeSpan Missing, int Windows)>();
        var perSeries = new List<IReadOnlyList<CandleWindow>>();
        // Every series is announced once, by the first pass: what listeners set up for it (its
        // metric series) stays, and a follower's thousands of series run a pass every few seconds.
        var announce = !_announced;
        _announced = true;
        foreach (var key in series)
        {
            if (announce) telemetry.Report(new PipelineEvent.SeriesPlanned(key));
            if (include is not null && !include(key)) continue;
            var (wanted, missing) = PlanSeries(key, store.GetCoverage(key), since, until, now);
            var windows = WindowPlanner.Split(key, missing).ToList();
            plan[key] = (wanted, TimeSpan.FromTicks(missing.Sum(r => (r.End - r.Start).Ticks)), windows.Count);
            perSeries.Add(windows);
        }
        var all = WindowPlanner.Interleave(perSeries).ToList();
        var progress = new BackfillProgress(plan, telemetry, time);
        Progress = progress;
        if (logProgress) LogPassStart(logger, all.Count, plan.Count);

        var fetched = 0;
        var skipped = 0;
        long candles = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var maxInFlight = Math.Max(16, limiter.RequestsPerWindow * 4);

        using var subscription = (fleet?.Fetch(pipeline, all, maxInFlight, stop) ?? pipeline.Fetch(all, maxInFlight))
            .Select(result => (result, written: writer.Write(result))) // the store subscribes: one transaction per response
            .Do(x =>
            {
                progress.Add(x.result, x.written);
                if (x.result.Fetched) Interlocked.Increment(ref fetched);
                else Interlocked.Increment(ref skipped);
                Interlocked.Add(ref candles, x.written);
            })
            .Subscribe(_ => { }, e => done.TrySetException(e), () => done.TrySetResult());
        using var progressTicks = Observable.Interval(TimeSpan.FromSeconds(10), scheduler).Subscribe(_ =>
        {
            progress.Publish();
            if (logProgress) progress.Log(logger);
        }, onError: e => LogProgressFailed(logger, e.GetType().Name, e.Message));

        var stopped = false;
        using (stop.Register(() =>
        {
            limiter.Stop();
            pipeline.Stop();
        }))
        {
            try
            {
                await done.Task.WaitAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                stopped = true;
                try
                {
                    await done.Task.WaitAsync(ShutdownGrace, time).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    var inFlight = pipeline.InFlight;
                    if (inFlight > 0) LogGraceExpired(logger, inFlight, ShutdownGrace.TotalSeconds);
                    else LogPassNotEnded(logger, ShutdownGrace.TotalSeconds);
                }
            }
        }

        progress.Publish();
        Progress = null;
        foreach (var key in plan.Keys) PublishCoverage(key);
        if (logProgress)
        {
            progress.Log(logger);
            LogPassEnd(logger, fetched, skipped, candles, stopped ? " (stopped)" : "");
        }
        return new PassSummary(all.Count, fetched, skipped, candles, stopped);
    }

    /// <summary>
    /// The window a pass over <paramref name="keys"/> fetches first, planned from <paramref name="coverageOf"/>
    /// as <see cref="RunPassAsync"/> plans it; null when nothing is missing.
    /// </summary>
    public static CandleWindow? FirstWindow(IEnumerable<SeriesKey> keys, Func<SeriesKey, IReadOnlyList<TimeRange>> coverageOf, DateTimeOffset since, DateTimeOffset until, DateTimeOffset now) =>
        WindowPlanner.Interleave(keys.Select(key => WindowPlanner.Split(key, PlanSeries(key, coverageOf(key), since, until, now).Missing))).FirstOrDefault();

    /// <summary>Stores a result fetched outside a pass (backfill's first request, sent while the markets were being checked); returns the candles written.</summary>
    public int Store(WindowResult result) => writer.Write(result);

    /// <summary>What a pass wants of a series, [since, min(until, closed candles)), and what of it <paramref name="coverage"/> leaves missing.</summary>
    private static (TimeRange Wanted, IReadOnlyList<TimeRange> Missing) PlanSeries(SeriesKey key, IReadOnlyList<TimeRange> coverage, DateTimeOffset since, DateTimeOffset until, DateTimeOffset now)
    {
        var closedEnd = WindowPlanner.ClosedEnd(key, now);
        var end = until < closedEnd ? key.Unit.AlignDown(until) : closedEnd;
        return (new TimeRange(key.Unit.AlignDown(since), end), WindowPlanner.Missing(key, coverage, since, end));
    }

    /// <summary>
    /// Follows every series: shortly after each candle closes, fetches what is missing up to it,
    /// including windows an earlier pass had to skip. Runs until <paramref name="stop"/>.
    /// </summary>
    public async Task FollowAsync(CancellationToken stop)
    {
        var fetchedUpTo = new Dictionary<SeriesKey, DateTimeOffset>();
        foreach (var key in series)
        {
            fetchedUpTo[key] = WindowPlanner.ClosedEnd(key, time.GetUtcNow());
            telemetry.Report(new PipelineEvent.Following(key));
        }
        LogFollowing(logger, series.Count);
        await using var share = fleet?.Follow(series, stop);
        while (!stop.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var wake = series.Min(k => WindowPlanner.ClosedEnd(k, now) + k.Unit.Interval) + FollowDelay;
            try
            {
                await Task.Delay(fleet?.Sleep(wake - now) ?? wake - now, time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            now = time.GetUtcNow();
            var due = series.Where(k => (fleet?.Follows(k) ?? true) && (WindowPlanner.ClosedEnd(k, now) > fetchedUpTo[k] || Gaps(k, now).Count > 0)).ToHashSet();
            if (due.Count == 0) continue;
            var summary = await RunPassAsync(now, due.Contains, logProgress: false, stop).ConfigureAwait(false);
            if (summary.Stopped) return;
            foreach (var key in due) fetchedUpTo[key] = WindowPlanner.ClosedEnd(key, now);
        }
    }

    private void PublishCoverage(SeriesKey key)
    {
        var until = Coverage.CoveredUntil(store.GetCoverage(key), key.Unit.AlignDown(since));
        telemetry.Report(new PipelineEvent.CoveredUntil(key, until));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "backfill: {Windows} windows to fetch across {Series} series")]
    private static partial void LogPassStart(ILogger logger, int windows, int series);

    [LoggerMessage(Level = LogLevel.Information, Message = "backfill pass done: {Fetched} windows fetched, {Skipped} skipped, {Candles} candles written{Stopped}")]
    private static partial void LogPassEnd(ILogger logger, int fetched, int skipped, long candles, string stopped);

    [LoggerMessage(Level = LogLevel.Information, Message = "following {Count} series: each closed candle is fetched shortly after it closes")]
    private static partial void LogFollowing(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stop: {Count} requests still in flight after {Seconds} s were abandoned; their windows stay gaps and are fetched after the restart")]
    private static partial void LogGraceExpired(ILogger logger, int count, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stop: the pass had not ended {Seconds} s after the stop although no request was in flight; its remaining windows stay gaps and are fetched after the restart")]
    private static partial void LogPassNotEnded(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "backfill progress reporting stopped: {Type}: {Message}; the pass goes on")]
    private static partial void LogProgressFailed(ILogger logger, string type, string message);
}
