namespace Scraper.Exchange;

/// <summary>
/// One request's timing as the connection saw it: from its first byte written to the first byte of
/// its response read (<see cref="RoundTrip"/>), and how long before the response was handed over that
/// first byte came in (<see cref="SinceAnswer"/>). Neither holds the process's own delays before the
/// bytes left or after they arrived (a cold connection, JIT, thread-pool wake-ups, reading the body).
/// </summary>
internal sealed record WireTiming(TimeSpan RoundTrip, TimeSpan SinceAnswer);
