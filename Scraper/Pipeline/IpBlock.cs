using System.Reactive.Concurrency;

namespace Scraper.Pipeline;

/// <summary>
/// The exchange's block of this IP (HTTP 418), shared by every rate-limit group of one client: the
/// exchange blocks the IP, not an endpoint, so a 418 in any group stops them all. When the block
/// ends one probing request goes out (from whichever group asks first) and only its answer reopens
/// every group; a 418 to the probe blocks again, for longer. A 418 to a request granted before the
/// block was known is the same violation and neither lengthens the block nor counts as another.
/// </summary>
internal sealed class IpBlock
{
    private readonly object _gate = new();
    private readonly RateLimitOptions _options;
    private readonly IStopwatch _clock;
    private readonly List<Action> _waiting = [];
    private TimeSpan _until;
    private bool _blocked;
    private bool _probeOut;
    private TimeSpan _probeSince;
    private int _bans;
    private long _epoch;

    /// <summary>Creates an open block; <paramref name="options"/> gives the back-off and the in-flight hold.</summary>
    public IpBlock(IScheduler scheduler, RateLimitOptions options)
    {
        _options = options;
        _clock = scheduler.StartStopwatch();
    }

    /// <summary>How long the block lasts from now (zero when open or only waiting for the probe).</summary>
    public TimeSpan Remaining
    {
        get
        {
            lock (_gate) return _blocked && _clock.Elapsed < _until ? _until - _clock.Elapsed : TimeSpan.Zero;
        }
    }

    /// <summary>True from a 418 until a probe's answer reopens the IP.</summary>
    public bool IsBlocked
    {
        get { lock (_gate) return _blocked; }
    }

    /// <summary>Calls <paramref name="wake"/> (outside any lock of the block) whenever the IP reopens or a probe is given up.</summary>
    internal void OnChange(Action wake)
    {
        lock (_gate) _waiting.Add(wake);
    }

    /// <summary>
    /// Whether a group may grant now: <see cref="Admission.Open"/>; <see cref="Admission.Probe"/>,
    /// the one permit that tests whether the block is over; or <see cref="Admission.Closed"/>, with
    /// how long at most until asking again is worth it. <paramref name="epoch"/> is the block the
    /// permit is granted under.
    /// </summary>
    internal Admission Admit(out TimeSpan retryIn, out long epoch)
    {
        lock (_gate)
        {
            retryIn = TimeSpan.Zero;
            epoch = _epoch;
            if (!_blocked) return Admission.Open;
            var now = _clock.Elapsed;
            if (now < _until)
            {
                retryIn = _until - now;
                return Admission.Closed;
            }
            // A probe never answered nor given up frees the way once its request can no longer arrive.
            if (_probeOut && now - _probeSince < _options.MaxInFlightHold)
            {
                retryIn = _options.MaxInFlightHold - (now - _probeSince);
                return Admission.Closed;
            }
            _probeOut = true;
            _probeSince = now;
            return Admission.Probe;
        }
    }

    /// <summary>
    /// A 418 to a permit of <paramref name="epoch"/>. Returns how long the IP is now blocked when this
    /// 418 started or lengthened the block; null when the block already covered it.
    /// </summary>
    internal TimeSpan? Banned(long epoch, bool probe, TimeSpan? blockDuration)
    {
        lock (_gate)
        {
            var now = _clock.Elapsed;
            var fresh = epoch == _epoch && (probe || !_blocked);
            if (!fresh)
            {
                if (blockDuration is { } given && now + given > _until) _until = now + given;
                return null;
            }
            _bans++;
            var backoff = blockDuration
                ?? Min(_options.DefaultBanDuration * Math.Pow(2, Math.Min(_bans - 1, 16)), _options.MaxBanDuration);
            _blocked = true;
            _probeOut = false;
            _epoch++;
            _until = now + backoff;
            return backoff;
        }
    }

    /// <summary>The probe was answered with anything but 418 (the IP is open again), or gave no verdict.</summary>
    internal void ProbeAnswered(bool reachedExchange)
    {
        lock (_gate)
        {
            if (!_probeOut) return;
            _probeOut = false;
            if (reachedExchange) _blocked = false;
        }
        Wake();
    }

    private void Wake()
    {
        Action[] waiting;
        lock (_gate) waiting = [.. _waiting];
        foreach (var wake in waiting) wake();
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}

