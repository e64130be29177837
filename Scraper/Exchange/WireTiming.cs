namespace Scraper.Exchange;

/// <summary>
/// One request's timing as the connection saw it: from its first write to the first byte of its
/// response read (<see cref="RoundTrip"/>), how long before the response was handed over that first
/// byte came in (<see cref="SinceAnswer"/>), and how much of the round trip the process spent in its
/// writes before they returned (<see cref="Writing"/>: the bytes had left by then). None of it holds the
/// process's own delays before the request reached its connection or after the answer's bytes arrived
/// (a cold connection, thread-pool wake-ups, reading the body); only <see cref="Writing"/> holds those of
/// the write itself (JIT of a cold process, a thread preempted before its send), which delay the
/// request's arrival as much as they lengthen the round trip.
/// </summary>
internal sealed record WireTiming(TimeSpan RoundTrip, TimeSpan SinceAnswer, TimeSpan Writing)
{
    /// <summary>The round trip from the moment the bytes had left: the exchange's part and the network's.</summary>
    public TimeSpan AfterLeaving => RoundTrip - Writing;
}
