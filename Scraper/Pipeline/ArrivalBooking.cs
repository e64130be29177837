namespace Scraper.Pipeline;

/// <summary>
/// When an answered request reached the exchange at the latest: its answer's time minus the fastest
/// recent round trip (<see cref="RoundTripStats"/>). Until enough round trips are known a request
/// counts from its answer; as soon as they are, the bookings made that way move back to their answer
/// minus the fastest round trip. At long latency a slice's answers all come back before the last of
/// them completes the sample, and without the revision each of their places would stay taken a
/// whole round trip longer than the exchange counts it.
/// </summary>
internal sealed class ArrivalBooking(int requestsPerWindow)
{
    private readonly List<RateLimitLease> _provisional = [];

    /// <summary>The recent round trips (tests seed them).</summary>
    public RoundTripStats RoundTrips { get; } = new();

    private int MinimumSamples => 2 * requestsPerWindow;

    /// <summary>Books the answered lease at the latest time its request can have arrived, and returns it.</summary>
    public DateTimeOffset Book(RateLimitLease lease, DateTimeOffset now, TimeSpan duration, bool success)
    {
        lease.AnsweredAt = now;
        // Judged by the round trips before this one: a slow answer must not excuse itself.
        if (RoundTrips.Fastest(MinimumSamples) is { } fastest) lease.Booked = Max(lease.GrantedAt, now - fastest);
        else
        {
            lease.Booked = now;
            // Only the recent ones matter: older bookings have left the window already.
            if (_provisional.Count >= MinimumSamples) _provisional.RemoveAt(0);
            _provisional.Add(lease);
        }
        if (success) RoundTrips.Add(duration);
        if (_provisional.Count > 0 && RoundTrips.Fastest(MinimumSamples) is { } known)
        {
            foreach (var waiting in _provisional) waiting.Booked = Max(waiting.GrantedAt, waiting.AnsweredAt - known);
            _provisional.Clear();
        }
        return lease.Booked.Value;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
