using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using Scraper.Exchange;

namespace Scraper.Pipeline;

/// <summary>
/// The time-sliced permit stream of one rate-limit group (candles, ticker, accounts). Every attempt
/// — a first try or a retry — subscribes to <see cref="Acquire"/> and sends only once a permit is
/// granted. Permits leave in slices of up to N; the next opens when enough have left the window.
/// <para>
/// A permit does not count from when it was granted but from when its request can at the latest
/// have reached the exchange: while the request is unanswered it holds its place (up to
/// <see cref="RateLimitOptions.MaxInFlightHold"/>); once answered it counts from the answer's time
/// minus the fastest recent round trip, so requests held back on their way never crowd the window
/// with the next slice. <c>Remaining-Req</c> is folded in: budget others on the IP spend counts.
/// </para>
/// <para>
/// Every instant is read from a monotonic clock (the scheduler's stopwatch from its time at creation)
/// and every wait is a relative delay, so a step of the wall clock neither stalls nor frees places.
/// A permit is a <see cref="RateLimitLease"/> its request completes with the answer. A 418 blocks the
/// IP: an <see cref="IpBlock"/> shared by every group of the client stops all, then one probe decides.
/// An exchange that counts in fixed buckets is recognised from its answers (<see cref="FixedBucketEdge"/>);
/// alone on the IP and at full pace, a slice may then also leave at a bucket's start when it has room.
/// </para>
/// </summary>
internal sealed class RateLimitGroup : IDisposable
{
    private readonly object _gate = new();
    private readonly RateLimitOptions _options;
    private readonly IScheduler _scheduler;
    private readonly LinkedList<IObserver<RateLimitLease>> _waiters = new();
    private readonly WindowPlaces _places;
    private readonly IpBlock _block;
    private readonly ArrivalBooking _arrivals;
    private readonly FixedBucketEdge _buckets;
    private readonly RateLimitNotices _notices = new();
    private readonly IStopwatch _clock;
    private readonly DateTimeOffset _origin;
    private readonly SerialDisposable _dispatch = new();
    private readonly Action _dispatchAction; // one delegate for every wake-up
    private DateTimeOffset? _dispatchAt;
    private DateTimeOffset _pausedUntil = DateTimeOffset.MinValue;
    private DateTimeOffset _othersCountedAt = DateTimeOffset.MinValue; // the latest count phantom places stand for
    private Pace _pace; // lowered by a 429, recovering to the configured rate
    private Share _share; // the places our own requests may hold while others on the IP spend from the window
    private bool _stopped;
    private bool _warm; // the first response has come back (slow start is over)
    private bool _refusedCold; // the slow start's probe was refused once: a second refusal in a row lowers the pace
    private DateTimeOffset _warmAt = DateTimeOffset.MinValue; // when the first response came back

    /// <summary>Creates the group; <paramref name="block"/> is shared by every group of the same IP (a group of its own when null).</summary>
    public RateLimitGroup(string name, RateLimitOptions options, IScheduler scheduler, IpBlock? block = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RequestsPerWindow, 1);
        Name = name;
        _options = options;
        _scheduler = scheduler;
        _origin = scheduler.Now;
        _clock = scheduler.StartStopwatch();
        _arrivals = new ArrivalBooking(options.RequestsPerWindow);
        _places = new WindowPlaces(options);
        _buckets = new FixedBucketEdge(options);
        _pace = PacePolicy.Initial(options, Now);
        _share = SharePolicy.Initial(options, Now);
        _warm = !options.SlowStart;
        _block = block ?? new IpBlock(scheduler, options);
        _dispatchAction = Dispatch;
        _block.OnChange(() => _scheduler.Schedule(_dispatchAction));
    }

    /// <summary>The recent round trips (tests seed them).</summary>
    internal RoundTripStats RoundTrips => _arrivals.RoundTrips;

    /// <summary>The group's name: a bounded metric label.</summary>
    public string Name { get; }

    /// <summary>Attempts allowed per window when nothing went wrong (the configured rate).</summary>
    public int RequestsPerWindow => _options.RequestsPerWindow;

    /// <summary>Attempts released per slice now: halved by a 429, back up by one per quiet decay period.</summary>
    public int CurrentPermits
    {
        get { lock (_gate) return PacePolicy.Recover(_pace, _options, Now).Permits; }
    }

    /// <summary>Every pause (sec=0 surprise, 429, 418), as it starts; one notification at a time.</summary>
    public IObservable<RateLimitPause> Pauses => _notices.Pauses;

    /// <summary>Every slice of permits as it leaves, before its attempts are told; one notification at a time.</summary>
    public IObservable<RateLimitSlice> Slices => _notices.Slices;

    /// <summary>Every fixed-bucket edge learnt from the answers or forgotten, as it happens; one notification at a time.</summary>
    public IObservable<RateLimitBucketEdge> BucketEdges => _notices.BucketEdges;

    /// <summary>Whether the exchange is known to count in fixed buckets, and how wide the interval an edge lies in is (a window while unknown).</summary>
    public (bool Known, TimeSpan Uncertainty) BucketEdge
    {
        get { lock (_gate) return (_buckets.Known, _buckets.Uncertainty); }
    }

    /// <summary>The window currently enforced: the exchange's window plus the margin.</summary>
    public TimeSpan CurrentWindow
    {
        get { lock (_gate) return PacePolicy.Window(PacePolicy.Recover(_pace, _options, Now), _options); }
    }

    /// <summary>True while the group waits out a 429, an exhausted budget or the IP's block.</summary>
    public bool IsPaused
    {
        get { lock (_gate) return Now < _pausedUntil || _block.Remaining > TimeSpan.Zero; }
    }

    /// <summary>Attempts waiting for a permit.</summary>
    public int Waiting
    {
        get { lock (_gate) return _waiters.Count; }
    }

    /// <summary>
    /// One permit for one attempt: emits a lease and completes. Disposing the subscription before
    /// the grant leaves the queue without spending budget. After <see cref="Stop"/> it completes
    /// empty. The caller completes the lease with the answer.
    /// </summary>
    public IObservable<RateLimitLease> Acquire() => Observable.Create<RateLimitLease>(observer =>
    {
        LinkedListNode<IObserver<RateLimitLease>> node;
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
    internal void OnResponse(RateLimitLease lease, TimeSpan duration, ExchangeOutcome outcome, RemainingRequests? remaining, TimeSpan? blockDuration, WireTiming? wire)
    {
        RateLimitPause? pause = null;
        RateLimitBucketEdge? edge = null;
        lock (_gate)
        {
            var now = Now;
            RecoverLocked(now);
            var arrivedBy = _arrivals.Book(lease, now, duration, outcome == ExchangeOutcome.Success, wire);
            var used = _options.RequestsPerWindow - remaining?.Second;
            var knew = _buckets.Known;
            _buckets.Answered(lease, now, outcome, used);
            if (_buckets.Known != knew) edge = new RateLimitBucketEdge(Name, _buckets.Known, _buckets.Uncertainty);
            var cold = !_warm;
            if (!_warm) _warmAt = now;
            _warm = true;

            // The exchange counted the request between its bytes leaving and its booking. Without a reserve the
            // count is held against all of ours it can have counted, so that a slow answer (booked late) does not
            // look like another client and hold a place idle for a window. With one, others' requests must not
            // hide behind ours: the window ends at the booking, as the reserve's rules were measured with.
            var arrivedFrom = _options.ReserveForOthers > 0 ? arrivedBy : lease.SentAt;
            if (used is { } count)
            {
                _share = SharePolicy.Observe(_share, _options, now, lease.GrantedAt, count, _places.OursAtMost(arrivedFrom, arrivedBy), lease.HeldAtGrant);
                pause = ReconcileLocked(arrivedFrom, arrivedBy, count);
            }

            switch (outcome)
            {
                // The probe refused: others' requests filled the window before ours came (a predecessor's, another
                // tool's), so our pace is not the cause. A window's pause and another probe; a second refusal lowers the pace.
                case ExchangeOutcome.RateLimited when cold && !_refusedCold:
                    _refusedCold = true;
                    _warm = false;
                    pause = PauseLocked(now + WindowLocked(), PauseReason.RateLimited) ?? pause;
                    break;
                case ExchangeOutcome.RateLimited:
                    _pace = PacePolicy.RateLimited(_pace, _options, now, alreadyPaused: now < _pausedUntil);
                    _share = SharePolicy.RateLimited(_share, now, lease.GrantedAt, _places.OursAtMost(arrivedFrom, arrivedBy));
                    pause = PauseLocked(now + WindowLocked(), PauseReason.RateLimited) ?? pause;
                    break;
                case ExchangeOutcome.Banned:
                    if (_block.Banned(lease.BlockEpoch, lease.IsProbe, blockDuration) is { } blocked)
                    {
                        var until = now + blocked;
                        pause = new RateLimitPause(Name, PauseReason.Banned, WallTime(until), WindowLocked() - _options.Window);
                        _dispatch.Disposable = Disposable.Empty;
                        _dispatchAt = null;
                    }
                    break;
            }
            // The answer may free a place earlier than the in-flight hold assumed.
            if (_waiters.Count > 0) ScheduleDispatchLocked(Max(now, NextFreeLocked(now)));
        }
        // Any answer but a 418 (or a failure to reach the exchange) shows the IP is open again.
        if (lease.IsProbe && outcome != ExchangeOutcome.Banned) _block.ProbeAnswered(reachedExchange: outcome != ExchangeOutcome.Transient);
        if (pause is not null) _notices.Publish(pause);
        if (edge is not null) _notices.Publish(edge);
    }

    /// <summary>How long until no request of ours can still be counted in the exchange's window (one unanswered as if it arrived now).</summary>
    public TimeSpan UntilOwnPlacesLeft()
    {
        lock (_gate)
        {
            var now = Now;
            return _places.OursLeaveAt(now, WindowLocked()) - now;
        }
    }

    /// <summary>Answers a lease given up without an answer: its place stays held; a probe lets another go.</summary>
    internal void Abandon(RateLimitLease lease)
    {
        if (lease.IsProbe) _block.ProbeAnswered(reachedExchange: false);
    }

    /// <summary>Stops granting: waiting attempts complete without a permit, new ones too.</summary>
    public void Stop()
    {
        List<IObserver<RateLimitLease>> waiting;
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
        _notices.Dispose();
    }

    /// <summary>Now on the group's monotonic clock.</summary>
    private DateTimeOffset Now => _origin + _clock.Elapsed;

    /// <summary>A monotonic instant as the scheduler's wall clock shows it now, for people.</summary>
    private DateTimeOffset WallTime(DateTimeOffset instant) => _scheduler.Now + (instant - Now);

    private void Dispatch()
    {
        List<(IObserver<RateLimitLease> Observer, RateLimitLease Lease)>? granted = null;
        lock (_gate)
        {
            _dispatchAt = null;
            if (_stopped) return;
            var now = Now;
            if (now < _pausedUntil)
            {
                ScheduleDispatchLocked(_pausedUntil);
                return;
            }
            RecoverLocked(now);
            var window = WindowLocked();
            // Kept while answers may still count them: as long as the in-flight hold after the request.
            _places.Prune(now, window);
            // Slow start: one request until the first answer shows the way is clear.
            var permits = PermitsLocked(now);
            // Counted once: every grant takes one more place, of ours, until well after now.
            var (all, ours) = _waiters.First is null ? (0, 0) : _places.Occupied(now, window);
            if (_waiters.First is not null && HasRoomLocked(now, permits, all, ours))
            {
                switch (_block.Admit(out var retryIn, out var epoch))
                {
                    case Admission.Closed:
                        ScheduleDispatchLocked(now + retryIn);
                        return;
                    case Admission.Probe:
                        // Only the probe goes; its answer reopens every group (or blocks again).
                        granted = [GrantLocked(now, epoch, probe: true, held: ours + 1)];
                        break;
                    default:
                        granted = [];
                        while (_waiters.First is not null && HasRoomLocked(now, permits, all, ours))
                        {
                            granted.Add(GrantLocked(now, epoch, probe: false, held: ++ours));
                            all++;
                        }
                        break;
                }
            }
            // The next slice opens when enough places have come free (an answer may make that sooner).
            if (_waiters.Count > 0) ScheduleDispatchLocked(_warm ? NextFreeLocked(now) : now + _options.MaxInFlightHold);
        }
        if (granted is null || granted.Count == 0) return;
        _notices.Publish(new RateLimitSlice(Name, granted[0].Lease.GrantedAt, granted.Count, granted[0].Lease.IsProbe));
        foreach (var (observer, lease) in granted)
        {
            observer.OnNext(lease);
            observer.OnCompleted();
        }
    }

    /// <summary>A permit to the first waiting; <paramref name="held"/> of our places are taken with its own.</summary>
    private (IObserver<RateLimitLease>, RateLimitLease) GrantLocked(DateTimeOffset now, long epoch, bool probe, int held)
    {
        var first = _waiters.First!;
        _waiters.RemoveFirst();
        var lease = new RateLimitLease(this, now, epoch, probe) { HeldAtGrant = held };
        _places.Add(lease, now);
        _buckets.Granted(lease, now);
        return (first.Value, lease);
    }

    /// <summary>Places the whole window may hold, others' included: one in slow start; the reserve stays free while others are about.</summary>
    private int PermitsLocked(DateTimeOffset now) =>
        !_warm ? 1 : SharePolicy.Crowded(_share, _options, now) ? Math.Min(_pace.Permits, SharePolicy.Full(_options)) : Math.Max(1, _pace.Permits - _buckets.HeldBack(now));

    /// <summary>A place is free, and one of our own share (others' places are theirs to reuse).</summary>
    private bool HasRoomLocked(DateTimeOffset now, int permits, int all, int ours) =>
        ours < _share.Limit && (all < permits || now >= ProbeAtLocked()) && !OneAtATimeLocked(now)
        || BucketsLocked(now) && _buckets.HasRoom(now, _share.Limit);

    /// <summary>Fixed buckets are known, the group alone on the IP and at full pace: a bucket with room may take a slice.</summary>
    private bool BucketsLocked(DateTimeOffset now) => _warm && _buckets.Known && _pace.Permits == _options.RequestsPerWindow && _pace.Penalty == TimeSpan.Zero && !SharePolicy.Crowded(_share, _options, now) && !OneAtATimeLocked(now);

    private bool OneAtATimeLocked(DateTimeOffset now) => ReserveRules.OneAtATime(_options, now, _warmAt) && _places.AnyInFlight;
    private DateTimeOffset ProbeAtLocked() => ReserveRules.ProbeAt(_options, _othersCountedAt, _places.AnyInFlight);

    /// <summary>When the occupied places drop below the permits per slice, and our own below our share (or a kept place, a bucket, come first).</summary>
    private DateTimeOffset NextFreeLocked(DateTimeOffset now)
    {
        var permits = PermitsLocked(now);
        if (OneAtATimeLocked(now)) return now + _options.MaxInFlightHold; // the answer in flight dispatches
        var window = WindowLocked();
        var whole = _places.FreeBelow(now, window, permits, oursOnly: false);
        var next = Max(whole < ProbeAtLocked() ? whole : Max(now, ProbeAtLocked()), _places.FreeBelow(now, window, _share.Limit, oursOnly: true));
        if (_buckets.HoldEnds(now) is { } held && held < next) return held;
        return BucketsLocked(now) && _buckets.Next(now, _share.Limit) is var bucket && bucket < next ? bucket : next;
    }

    private void ScheduleDispatchLocked(DateTimeOffset at)
    {
        if (_dispatchAt is { } pending && pending <= at) return;
        _dispatchAt = at;
        var delay = at - Now;
        _dispatch.Disposable = _scheduler.Schedule(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, _dispatchAction);
    }

    /// <summary>
    /// The exchange counted <paramref name="usedByExchange"/> requests in the window ending with the
    /// one that reached it after <paramref name="earliest"/> and by <paramref name="at"/>. When that is
    /// more than we can have had in it (another client on the same IP, or a booking of ours that came
    /// out too early), the difference is booked as phantom places at that moment, which holds the
    /// group back until they leave the window;
    /// <c>sec=0</c> thus pauses until the window has passed.
    /// </summary>
    private RateLimitPause? ReconcileLocked(DateTimeOffset earliest, DateTimeOffset at, int usedByExchange)
    {
        if (_options.ReserveForOthers > 0 && at >= _othersCountedAt)
        {
            _othersCountedAt = at; // the latest count replaces the places the earlier ones held
            _places.RemoveOthers();
        }
        if (!_places.Reconcile(earliest, at, usedByExchange, ReserveRules.OthersBooking(_options, at))) return null;
        if (usedByExchange < _options.RequestsPerWindow) return null;
        var until = at + WindowLocked();
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
        return wasPaused ? null : new RateLimitPause(Name, reason, WallTime(_pausedUntil), WindowLocked() - _options.Window);
    }

    /// <summary>The explicit recovery step: the pace as it stands after the quiet time since the last 429.</summary>
    private void RecoverLocked(DateTimeOffset now) => _pace = PacePolicy.Recover(_pace, _options, now);

    /// <summary>The window enforced now; up to date once <see cref="RecoverLocked"/> ran.</summary>
    private TimeSpan WindowLocked() => PacePolicy.Window(_pace, _options);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
