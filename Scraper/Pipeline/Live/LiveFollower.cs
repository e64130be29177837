using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using Microsoft.Extensions.Logging;
using Scraper.Domain;
using Scraper.Exchange.Streaming;
using Scraper.Storage;

namespace Scraper.Pipeline.Live;

/// <summary>
/// Follows the configured series live: minute candles come from the stream and are stored as they
/// arrive (no coverage); REST keeps what only REST can do — a reconciliation pass per streamed
/// series every <see cref="LiveOptions.ReconcilePeriod"/>, on its own slot so that the series
/// trickle rather than burst (<see cref="ReconcileSlots"/>), after every (re)connection for the
/// intervals that closed while the stream was away (<see cref="Reconnected"/>), and polling for day candles.
/// When the stream cannot be established (<see cref="LiveOptions.FallbackAfterFailures"/> failed
/// attempts in a row, and nothing heard for <see cref="LiveOptions.FallbackAfter"/>) the minute series are polled as in poll mode until a connection succeeds;
/// the stream keeps retrying on its capped back-off. In a fleet (<c>followed</c>: the series this
/// scraper holds the follow leases of) it writes and reconciles only those, and reconciles a series
/// at once when it takes it over.
/// </summary>
internal sealed partial class LiveFollower(
    IReadOnlyList<SeriesKey> series,
    IObservable<StreamEvent> stream,
    CandleCollector collector,
    ICandleStore store,
    LiveOptions options,
    TimeProvider time,
    IScheduler scheduler,
    ILogger<LiveFollower> logger,
    IObservable<IReadOnlySet<SeriesKey>>? followed = null)
{
    private readonly LiveOwnership _owned = new();
    private readonly ISubject<LiveEvent> _events = Subject.Synchronize(new Subject<LiveEvent>());
    private readonly Subject<StreamCandle> _handedOver = new();
    private readonly Dictionary<SeriesKey, DateTimeOffset> _due = [];
    private readonly Dictionary<SeriesKey, DateTimeOffset> _followUp = [];
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource _wake = new();
    private ReconcileSlots? _slots;
    private LiveState _state = LiveState.Connecting;
    private int _failures;
    private DateTimeOffset _heard = DateTimeOffset.MinValue;
    private long _heardTimestamp;
    private DateTimeOffset? _lostFrom;
    private bool _split;

    private enum LiveState { Connecting, Streaming, Polling }

    /// <summary>What happens, for the metrics subscriber (subscribe before <see cref="RunAsync"/>).</summary>
    public IObservable<LiveEvent> Events => _events.AsObservable();

    /// <summary>Follows until <paramref name="stop"/>; throws what the store threw when a write fails.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var sink = new LiveCandleSink(store, series.ToHashSet(), time);
        _heardTimestamp = time.GetTimestamp();
        var now = time.GetUtcNow();
        var slots = new ReconcileSlots(series, options, now);
        lock (_gate)
        {
            _slots = slots;
            foreach (var key in series) _due[key] = key.Unit.IsDay ? PollDue(key, now) : slots.Next(key, now);
        }
        LogFollowing(logger, series.Count(k => !k.Unit.IsDay), series.Count(k => k.Unit.IsDay), options.ReconcileEvery.TotalMinutes);
        using var owning = _owned.Track(followed, gained => Guard(() => TakeOver(gained)), e => Guard(() => throw new InvalidOperationException("the follow leases stopped reporting", e)));

        var shared = stream.Publish();
        using var writes = shared.OfType<StreamCandle>().Merge(_handedOver).Buffer(options.FlushInterval, scheduler).Where(b => b.Count > 0)
            .Subscribe(batch => Guard(() => { foreach (var stored in sink.Write(_owned.Mine(batch))) _events.OnNext(stored); }), onError: e => _failed.TrySetException(e));
        using var control = shared.Subscribe(e => Guard(() => OnStreamEvent(e)), onError: e => _failed.TrySetException(e));
        using var connection = shared.Connect();

        while (!stop.IsCancellationRequested && !_failed.Task.IsCompleted)
        {
            now = time.GetUtcNow();
            List<SeriesKey> due;
            CancellationTokenSource wake;
            lock (_gate)
            {
                due = [.. series.Where(k => _owned.Owns(k) && _due[k] <= now)];
                wake = _wake;
            }
            if (due.Count > 0)
            {
                if (!await PassAsync(due, now, stop)) break;
                continue;
            }
            DateTimeOffset? next;
            lock (_gate) next = series.Where(_owned.Owns).Min(k => (DateTimeOffset?)_due[k]);
            using var either = CancellationTokenSource.CreateLinkedTokenSource(stop, wake.Token);
            try
            {
                await Task.WhenAny(Task.Delay(next - now ?? Timeout.InfiniteTimeSpan, time, either.Token), _failed.Task);
            }
            catch (OperationCanceledException)
            {
                // woken or stopped: the loop decides which
            }
        }
        if (_failed.Task.IsFaulted) await _failed.Task;
    }

    private async Task<bool> PassAsync(List<SeriesKey> due, DateTimeOffset now, CancellationToken stop)
    {
        var polled = due.Where(IsPolled).ToHashSet();
        var reconciled = due.Where(k => !polled.Contains(k)).ToDictionary(k => k, k => collector.Gaps(k, now));
        var before = reconciled.ToDictionary(kv => kv.Key, kv => Count(kv.Key, kv.Value));
        _events.OnNext(new LiveReconcileStarted(due.Count, reconciled.Count == 0 ? "poll" : "reconcile"));
        var dueSet = due.ToHashSet();
        var summary = await collector.RunPassAsync(now, dueSet.Contains, logProgress: false, stop);
        if (summary.Stopped) return false;
        foreach (var (key, gaps) in reconciled)
        {
            var found = Count(key, gaps) - before[key];
            _events.OnNext(new LiveReconciled(key, found));
        }
        lock (_gate)
        {
            foreach (var key in due)
            {
                // Counted from the pass's end: a slot that fell inside a long pass was served by it.
                var next = polled.Contains(key) ? PollDue(key, time.GetUtcNow()) : _slots!.Next(key, time.GetUtcNow());
                if (_followUp.TryGetValue(key, out var followUp))
                {
                    if (followUp > now && followUp < next) next = followUp;
                    else if (followUp <= now) _followUp.Remove(key);
                }
                _due[key] = next;
            }
        }
        return true;
    }

    private long Count(SeriesKey key, IReadOnlyList<TimeRange> ranges) => ranges.Sum(r => store.CountCandles(key, r.Start, r.End));

    private bool IsPolled(SeriesKey key) => key.Unit.IsDay || _state == LiveState.Polling;

    private DateTimeOffset PollDue(SeriesKey key, DateTimeOffset now) => WindowPlanner.ClosedEnd(key, now) + key.Unit.Interval + options.AfterClose;

    private void OnStreamEvent(StreamEvent e)
    {
        _events.OnNext(new LiveStreamEvent(e));
        if (e is not StreamDisconnected)
        {
            _heard = e.At;
            _heardTimestamp = time.GetTimestamp();
        }
        switch (e)
        {
            case StreamConnected c:
                LogConnected(logger, c.Connection, c.Pairs);
                _failures = 0;
                SetState(LiveState.Streaming, "connected");
                // With several connections the last message heard may be another connection's: assume everything lost.
                _split |= c.Connection > 0;
                Reconnected(c.At, _split ? DateTimeOffset.MinValue : _lostFrom ?? DateTimeOffset.MinValue);
                _lostFrom = null;
                break;
            case StreamDisconnected d when d.WasConnected:
                LogDisconnected(logger, d.Connection, d.Reason, d.Detail, d.RetryIn.TotalSeconds);
                // A stall is noticed long after it began: what was lost was sent after the last message heard.
                _lostFrom ??= _heard;
                break;
            case StreamDisconnected d:
                LogNotConnected(logger, d.Connection, d.Reason, d.Detail, d.RetryIn.TotalSeconds);
                // Polling every series costs far more REST than reconciling after a short outage does.
                if (++_failures >= options.FallbackAfterFailures && time.GetElapsedTime(_heardTimestamp) >= options.FallbackAfter)
                    SetState(LiveState.Polling, $"{_failures} connection attempts failed ({d.Reason}: {d.Detail})");
                break;
            case StreamError error:
                LogStreamError(logger, error.Name, error.Message, error.Subscription, error.DroppedCodes.Count == 0 ? "" : $"; left out from now on: {string.Join(',', error.DroppedCodes)}");
                break;
            case StreamMalformed m:
                LogMalformed(logger, m.Problem);
                break;
        }
    }

    /// <summary>
    /// Series this scraper took over from another: what their previous follower may not have stored is
    /// reconciled (or polled) now, and the latest stream candle of each received meanwhile is written.
    /// </summary>
    private void TakeOver(IReadOnlyList<SeriesKey> gained)
    {
        var now = time.GetUtcNow();
        LogTakenOver(logger, gained.Count, string.Join(", ", gained));
        lock (_gate)
        {
            foreach (var key in gained.Where(k => k.Unit.IsDay)) _due[key] = now;
        }
        ScheduleReconcile(now, gained);
        foreach (var candle in _owned.HandOver(gained)) _handedOver.OnNext(candle);
    }

    /// <summary>
    /// After a connection, a streamed series is reconciled only if one of its intervals closed while
    /// the stream may have missed its last update (since <paramref name="lost"/>, less
    /// <see cref="LiveOptions.CloseGrace"/>): at once when some of those intervals can be covered now,
    /// and when the last of them can (the follow-up). The candle forming meanwhile needs nothing: the
    /// connection's snapshot brings it whole. A blip between two closes thus costs no request at all.
    /// </summary>
    private void Reconnected(DateTimeOffset at, DateTimeOffset lost)
    {
        var missedFrom = lost == DateTimeOffset.MinValue ? lost : lost - options.CloseGrace;
        lock (_gate)
        {
            foreach (var key in series.Where(k => !k.Unit.IsDay))
            {
                var lastClose = key.Unit.AlignDown(at);
                if (lastClose <= missedFrom) continue;
                var followUp = lastClose + key.Unit.Interval + options.AfterClose;
                _followUp[key] = followUp;
                _due[key] = lastClose - key.Unit.Interval > missedFrom ? at : followUp < _due[key] ? followUp : _due[key];
            }
        }
        Wake();
    }

    /// <summary>Series taken over: now, and again once the interval forming now can be covered (the previous follower may have missed part of it).</summary>
    private void ScheduleReconcile(DateTimeOffset at, IEnumerable<SeriesKey> keys)
    {
        lock (_gate)
        {
            foreach (var key in keys.Where(k => !k.Unit.IsDay))
            {
                _due[key] = at;
                _followUp[key] = key.Unit.AlignDown(at) + 2 * key.Unit.Interval + options.AfterClose;
            }
        }
        Wake();
    }

    private void SetState(LiveState state, string reason)
    {
        var previous = _state;
        if (previous == state) return;
        _state = state;
        if (state == LiveState.Polling)
        {
            LogFallback(logger, reason);
            var now = time.GetUtcNow();
            lock (_gate)
            {
                foreach (var key in series.Where(k => !k.Unit.IsDay)) _due[key] = now;
            }
            Wake();
        }
        else if (previous == LiveState.Polling)
        {
            LogStreamBack(logger);
        }
        _events.OnNext(new LiveModeChanged(state == LiveState.Streaming, reason));
    }

    private void Wake()
    {
        CancellationTokenSource old;
        lock (_gate)
        {
            old = _wake;
            _wake = new CancellationTokenSource();
        }
        old.Cancel();
        old.Dispose();
    }

    private void Guard(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            // An exception thrown into Rx would end the process; the loop rethrows it instead.
            _failed.TrySetException(e);
            Wake();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "following live: {Minute} minute series from the stream (1-minute series reconciled by REST every {Minutes:0} min, longer units proportionally, and after every reconnection), {Day} day series by polling")]
    private static partial void LogFollowing(ILogger logger, int minute, int day, double minutes);

    [LoggerMessage(Level = LogLevel.Information, Message = "live: now following {Count} series ({Series}): reconciling what the previous follower may not have stored, and writing their stream candles from the last one kept")]
    private static partial void LogTakenOver(ILogger logger, int count, string series);

    [LoggerMessage(Level = LogLevel.Information, Message = "stream connection {Connection}: subscribed to {Pairs} streams")]
    private static partial void LogConnected(ILogger logger, int connection, int pairs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stream connection {Connection} lost ({Reason}: {Detail}); reconnecting in {Seconds:0.0} s, then the outage is reconciled by REST")]
    private static partial void LogDisconnected(ILogger logger, int connection, string reason, string detail, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stream connection {Connection} could not be established ({Reason}: {Detail}); retrying in {Seconds:0.0} s")]
    private static partial void LogNotConnected(ILogger logger, int connection, string reason, string detail, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stream unavailable: {Reason}; polling the minute series by REST until the stream can be established again")]
    private static partial void LogFallback(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "stream established again: the minute series follow the stream, polling stops")]
    private static partial void LogStreamBack(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "the exchange refused part of the stream subscription ({Subscription}): {Name}: {Message}{Dropped}")]
    private static partial void LogStreamError(ILogger logger, string name, string message, string subscription, string dropped);

    [LoggerMessage(Level = LogLevel.Debug, Message = "stream message skipped: {Problem}")]
    private static partial void LogMalformed(ILogger logger, string problem);
}
