using Scraper.Exchange;

namespace Scraper.Pipeline;

/// <summary>
/// When an answered request reached the exchange at the latest: its answer's time minus the fastest
/// recent round trip (<see cref="RoundTripStats"/>), never before its bytes left (its last write
/// returned; a cold process spent up to 10 ms in its first writes). Until enough round trips are known
/// a request counts from its answer; as soon as they are, the bookings made that way move back to
/// their answer minus the fastest round trip. At long latency a slice's answers all come back before
/// the last of them completes the sample, and without the revision each of their places would stay
/// taken a whole round trip longer than the exchange counts it.
/// <para>
/// Round trips measured at the wire (<see cref="WireTiming"/>) hold none of the process's own delays,
/// which a fresh process has plenty of; so they are trusted once one window's worth is in (the probe
/// and the first slice, whose answers then move its bookings back before the next slice is due) if
/// they agree on their fastest (<see cref="RoundTripStats.AgreeOn"/>). Scattered ones say the exchange
/// was busy at the start and held requests for a while before it counted them; their fastest holds
/// such a wait too. In FleetRateTests the probe's round trip was 785 ms and the slice's 84-144 ms,
/// while the exchange answered each within 30 ms of counting it: the probe was booked 73 ms before
/// its count, and the exchange, quick again, refused the eleventh request. Such round trips are
/// trusted after two slices' worth, as round trips measured around the call always are: the first
/// ones of a fresh process are inflated, and a fastest round trip that is too long books arrivals
/// too early.
/// </para>
/// </summary>
internal sealed class ArrivalBooking(int requestsPerWindow)
{
    private readonly List<RateLimitLease> _provisional = [];
    private bool _notAtWire; // some round trip was measured around the call
    private bool _trusted; // the fastest round trip has been trusted once: from then on it always is

    /// <summary>The recent round trips (tests seed them).</summary>
    public RoundTripStats RoundTrips { get; } = new();

    private int MinimumSamples => _notAtWire ? 2 * requestsPerWindow : requestsPerWindow;

    /// <summary>Books the answered lease at the latest time its request can have arrived, and returns it.</summary>
    public DateTimeOffset Book(RateLimitLease lease, DateTimeOffset now, TimeSpan duration, bool success, WireTiming? wire)
    {
        lease.AnsweredAt = wire is null ? now : Max(lease.GrantedAt, now - wire.SinceAnswer);
        lease.SentAt = wire is null ? lease.GrantedAt : Max(lease.GrantedAt, lease.AnsweredAt - wire.AfterLeaving);
        // Judged by the round trips before this one: a slow answer must not excuse itself.
        if (TrustedFastest() is { } fastest) lease.Booked = Max(lease.SentAt, lease.AnsweredAt - fastest);
        else
        {
            lease.Booked = lease.AnsweredAt;
            // Only the recent ones matter: older bookings have left the window already.
            if (_provisional.Count >= 2 * requestsPerWindow) _provisional.RemoveAt(0);
            _provisional.Add(lease);
        }
        if (success)
        {
            if (wire is null) _notAtWire = true;
            RoundTrips.Add(wire?.AfterLeaving ?? duration);
        }
        if (_provisional.Count > 0 && TrustedFastest() is { } known)
        {
            foreach (var waiting in _provisional) waiting.Booked = Max(waiting.SentAt, waiting.AnsweredAt - known);
            _provisional.Clear();
        }
        return lease.Booked.Value;
    }

    private TimeSpan? TrustedFastest()
    {
        if (RoundTrips.Fastest(MinimumSamples) is not { } fastest) return null;
        _trusted = _trusted || RoundTrips.Count >= 2 * requestsPerWindow || RoundTrips.AgreeOn(fastest);
        return _trusted ? fastest : null;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
