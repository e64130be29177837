using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using Scraper.Exchange;

namespace Scraper.Pipeline;

/// <summary>Why a rate-limit group stopped sending for a while.</summary>
public enum PauseReason
{
    /// <summary>The exchange said <c>sec=0</c>, or counted more requests than we sent.</summary>
    RemainingExhausted,
    /// <summary>HTTP 429.</summary>
    RateLimited,
    /// <summary>HTTP 418: the IP is blocked.</summary>
    Banned,
}

/// <summary>A pause of one group, for logs and metrics; <paramref name="Until"/> is wall time (the scheduler's clock).</summary>
public sealed record RateLimitPause(string Group, PauseReason Reason, DateTimeOffset Until, TimeSpan Margin);

/// <summary>
/// The time-sliced permit stream of one rate-limit group (candles, ticker, accounts). Every attempt
/// — a first try or a retry — subscribes to <see cref="Acquire"/> and sends only once a permit is
/// granted. Permits leave in slices: at the start of a slice up to N waiting attempts go at once,
/// and the next slice opens when enough permits of the last one have left the window.
/// <para>
/// A permit does not count from when it was granted but from when its request can at the latest
/// have reached the exchange: while the request is unanswered it holds its place (up to
/// <see cref="RateLimitOptions.MaxInFlightHold"/>); once answered it counts from the answer's time
/// minus the fastest recent round trip. Requests that a cold start, a pause or the network held
/// back therefore never crowd the exchange's window together with the next slice. The exchange's
/// <c>Remaining-Req</c> answers are folded in too, so budget spent by others on the same IP counts.
/// </para>
/// <para>
/// Every instant the group keeps — grants, bookings, pauses — is read from a monotonic clock (the
/// scheduler's stopwatch, expressed as the scheduler's time at creation plus the time elapsed since)
/// and every wait is a relative delay, so a step of the wall clock (NTP, a resumed VM) neither stalls
/// the group for the size of the step nor frees places early. Grant times are such instants: hand
/// them back to <see cref="OnResponse"/> as they came.
/// </para>
/// </summary>
public sealed class RateLimitGroup : IDisposable
{
    private readonly object _gate = new();
    private readonly RateLimitOptions _options;
    private readonly IScheduler _scheduler;
    private readonly LinkedList<IObserver<DateTimeOffset>> _waiters = new();
    private readonly List<Slot> _slots = new(); // permits still inside the window
    private readonly RoundTripStats _roundTrips = new();
    private readonly Subject<RateLimitPause> _pauses = new();
    private readonly object _pausesGate = new(); // answers arrive on many threads; Rx observers take one notification at a time
    private readonly IStopwatch _clock;
    private readonly DateTimeOffset _origin;
    private readonly SerialDisposable _dispatch = new();
    private DateTimeOffset? _dispatchAt;
    private DateTimeOffset _pausedUntil = DateTimeOffset.MinValue;
    private TimeSpan _penalty = TimeSpan.Zero;
    private int _permits; // permits per slice now: lowered by a 429, recovering to the configured rate
    private DateTimeOffset _penaltySince;
    private int _bans;
    private bool _stopped;
    private bool _warm; // the first response has come back (slow start is over)
    private bool _disposed;

    /// <summary>Creates the group.</summary>
    public RateLimitGroup(string name, RateLimitOptions options, IScheduler scheduler)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RequestsPerWindow, 1);
        Name = name;
        _options = options;
        _scheduler = scheduler;
        _origin = scheduler.Now;
        _clock = scheduler.StartStopwatch();
        _permits = options.RequestsPerWindow;
        _warm = !options.SlowStart;
    }

    /// <summary>The group's name: a bounded metric label.</summary>
    public string Name { get; }

    /// <summary>Attempts allowed per window when nothing went wrong (the configured rate).</summary>
    public int RequestsPerWindow => _options.RequestsPerWindow;

    /// <summary>Attempts released per slice now: halved by a 429, back up by one per quiet decay period.</summary>
    public int CurrentPermits
    {
        get { lock (_gate) { WindowLocked(Now); return _permits; } }
    }

    /// <summary>Every pause (sec=0 surprise, 429, 418), as it starts; one notification at a time.</summary>
    public IObservable<RateLimitPause> Pauses => _pauses.AsObservable();

    /// <summary>The window currently enforced: the exchange's window plus the margin.</summary>
    public TimeSpan CurrentWindow
    {
        get { lock (_gate) return WindowLocked(Now); }
    }

    /// <summary>True while the group waits out a 429, a 418 or an exhausted budget.</summary>
    public bool IsPaused
    {
        get { lock (_gate) return Now < _pausedUntil; }
    }

    /// <summary>Attempts waiting for a permit.</summary>
    public int Waiting
    {
        get { lock (_gate) return _waiters.Count; }
    }

    /// <summary>
    /// One permit for one attempt: emits the grant instant (on the group's monotonic clock) and
    /// completes. Disposing before the grant leaves the queue without spending budget. After
    /// <see cref="Stop"/> it completes empty. The caller reports the answer with
    /// <see cref="OnResponse"/>, passing the grant instant back.
    /// </summary>
    public IObservable<DateTimeOffset> Acquire() => Observable.Create<DateTimeOffset>(observer =>
    {
        LinkedListNode<IObserver<DateTimeOffset>> node;
        lock (_gate)
        {
            if (_stopped)
            {
                observer.OnCompleted();
                return Disposable.Empty;
            }
            node = _waiters.AddLast(observer);
            ScheduleDispatchLocked(Now);
        }
        return Disposable.Create(() =>
        {
            lock (_gate)
            {
                if (node.List is not null) _waiters.Remove(node);
            }
        });
    });

    /// <summary>
    /// Folds one answer back in: when its request reached the exchange at the latest, the
    /// exchange's count of the window (Remaining-Req), and 429/418 pauses.
    /// </summary>
    public void OnResponse(DateTimeOffset grantedAt, TimeSpan duration, ExchangeOutcome outcome, RemainingRequests? remaining, TimeSpan? blockDuration)
    {
        RateLimitPause? pause = null;
        lock (_gate)
        {
            var now = Now;
            // Judged by the round trips before this one: a slow answer must not excuse itself.
            var arrivedBy = Max(grantedAt, now - _roundTrips.Fastest(2 * _options.RequestsPerWindow));
            if (outcome == ExchangeOutcome.Success) _roundTrips.Add(duration);
            var slot = _slots.Find(s => s.InFlight && s.Granted == grantedAt);
            if (slot is not null) slot.Booked = arrivedBy;
            _warm = true;

            if (remaining is not null) pause = ReconcileLocked(arrivedBy, _options.RequestsPerWindow - remaining.Second);

            switch (outcome)
            {
                case ExchangeOutcome.RateLimited:
                    // One slice's worth of 429s lowers the pace once, not once per response.
                    if (now >= _pausedUntil)
                    {
                        _penalty = _penalty == TimeSpan.Zero
                            ? _options.RateLimitedPenalty
                            : Min(_penalty * 2, _options.MaxPenalty);
                        _permits = Math.Max(1, _permits / 2);
                    }
                    _penaltySince = now;
                    pause = PauseLocked(now + WindowLocked(now), PauseReason.RateLimited) ?? pause;
                    break;
                case ExchangeOutcome.Banned:
                    _bans++;
                    var backoff = blockDuration
                        ?? Min(_options.DefaultBanDuration * Math.Pow(2, Math.Min(_bans - 1, 16)), _options.MaxBanDuration);
                    pause = PauseLocked(now + backoff, PauseReason.Banned) ?? pause;
                    break;
            }
            // The answer may free a place earlier than the in-flight hold assumed.
            if (_waiters.Count > 0) ScheduleDispatchLocked(Max(now, NextFreeLocked(now)));
        }
        if (pause is not null) Publish(pause);
    }

    /// <summary>Stops granting: waiting attempts complete without a permit, new ones too.</summary>
    public void Stop()
    {
        List<IObserver<DateTimeOffset>> waiting;
        lock (_gate)
        {
            _stopped = true;
            waiting = [.. _waiters];
            _waiters.Clear();
            _dispatch.Disposable = Disposable.Empty;
        }
        foreach (var observer in waiting) observer.OnCompleted();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Stop();
        _dispatch.Dispose();
        lock (_pausesGate)
        {
            if (_disposed) return;
            _disposed = true;
            _pauses.OnCompleted();
            _pauses.Dispose();
        }
    }

    /// <summary>Now on the group's monotonic clock.</summary>
    private DateTimeOffset Now => _origin + _clock.Elapsed;

    /// <summary>A monotonic instant as the scheduler's wall clock shows it now, for people.</summary>
    private DateTimeOffset WallTime(DateTimeOffset instant) => _scheduler.Now + (instant - Now);

    private void Publish(RateLimitPause pause)
    {
        lock (_pausesGate)
        {
            if (!_disposed) _pauses.OnNext(pause);
        }
    }

    private void Dispatch()
    {
        var granted = new List<IObserver<DateTimeOffset>>();
        DateTimeOffset now;
        lock (_gate)
        {
            _dispatchAt = null;
            if (_stopped) return;
            now = Now;
            if (now < _pausedUntil)
            {
                ScheduleDispatchLocked(_pausedUntil);
                return;
            }
            var window = WindowLocked(now);
            _slots.RemoveAll(s => s.FreeAt(window, _options.MaxInFlightHold) <= now);
            // Slow start: one request until the first answer shows the way is clear.
            var permits = _warm ? _permits : 1;
            while (_waiters.First is { } first && _slots.Count < permits)
            {
                _waiters.RemoveFirst();
                _slots.Add(new Slot(now));
                granted.Add(first.Value);
            }
            // The next slice opens when enough places have come free (an answer may make that sooner).
            if (_waiters.Count > 0) ScheduleDispatchLocked(_warm ? NextFreeLocked(now) : now + _options.MaxInFlightHold);
        }
        foreach (var observer in granted)
        {
            observer.OnNext(now);
            observer.OnCompleted();
        }
    }

    /// <summary>When the number of occupied places drops below the permits per slice.</summary>
    private DateTimeOffset NextFreeLocked(DateTimeOffset now)
    {
        var window = WindowLocked(now);
        var permits = _warm ? _permits : 1;
        if (_slots.Count < permits) return now;
        var frees = _slots.Select(s => s.FreeAt(window, _options.MaxInFlightHold)).Order().ToList();
        return frees[_slots.Count - permits];
    }

    private void ScheduleDispatchLocked(DateTimeOffset at)
    {
        if (_dispatchAt is { } pending && pending <= at) return;
        _dispatchAt = at;
        var delay = at - Now;
        _dispatch.Disposable = _scheduler.Schedule(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, Dispatch);
    }

    /// <summary>
    /// The exchange counted <paramref name="usedByExchange"/> requests in the window ending with the
    /// one that reached it by <paramref name="at"/>. When that is more than we sent (another client
    /// on the same IP, or a booking of ours that came out too early), the difference is booked as
    /// phantom places at that moment, which holds the group back until they leave the window;
    /// <c>sec=0</c> thus pauses until the window has passed.
    /// </summary>
    private RateLimitPause? ReconcileLocked(DateTimeOffset at, int usedByExchange)
    {
        var from = at - _options.Window;
        var ours = _slots.Count(s => s.Granted <= at && (s.InFlight || s.Booked > from));
        var missing = Math.Min(usedByExchange, _options.RequestsPerWindow) - ours;
        if (missing <= 0) return null;
        for (var i = 0; i < missing; i++) _slots.Add(new Slot(at) { Booked = at });
        if (usedByExchange < _options.RequestsPerWindow) return null;
        var until = at + WindowLocked(Now);
        return until > Now ? new RateLimitPause(Name, PauseReason.RemainingExhausted, WallTime(until), until - at - _options.Window) : null;
    }

    /// <summary>Extends the pause; returns an event only when the group was not paused already, so a storm logs once.</summary>
    private RateLimitPause? PauseLocked(DateTimeOffset until, PauseReason reason)
    {
        var wasPaused = Now < _pausedUntil;
        if (until > _pausedUntil) _pausedUntil = until;
        _dispatch.Disposable = Disposable.Empty;
        _dispatchAt = null;
        if (_waiters.Count > 0) ScheduleDispatchLocked(_pausedUntil);
        return wasPaused ? null : new RateLimitPause(Name, reason, WallTime(_pausedUntil), WindowLocked(Now) - _options.Window);
    }

    private TimeSpan WindowLocked(DateTimeOffset now)
    {
        // Recovery: every quiet decay period halves the penalty a 429 added and gives back one permit.
        while ((_penalty > TimeSpan.Zero || _permits < _options.RequestsPerWindow) && now - _penaltySince >= _options.PenaltyDecayAfter)
        {
            _penalty = _penalty < TimeSpan.FromMilliseconds(2) ? TimeSpan.Zero : _penalty / 2;
            _permits = Math.Min(_options.RequestsPerWindow, _permits + 1);
            _penaltySince += _options.PenaltyDecayAfter;
        }
        return _options.Window + _options.BaseMargin + _penalty;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>One place in the window: granted, and once answered, booked at its latest arrival.</summary>
    private sealed class Slot(DateTimeOffset granted)
    {
        public DateTimeOffset Granted { get; } = granted;

        public DateTimeOffset? Booked { get; set; }

        public bool InFlight => Booked is null;

        /// <summary>When this place leaves the window.</summary>
        public DateTimeOffset FreeAt(TimeSpan window, TimeSpan maxHold) =>
            Booked is { } booked ? booked + window : Granted + (maxHold > window ? maxHold : window);
    }
}
