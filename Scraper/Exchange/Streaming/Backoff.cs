namespace Scraper.Exchange.Streaming;

/// <summary>Reconnect delays: exponential from the minimum, capped, with jitter so many clients do not return together.</summary>
internal static class Backoff
{
    /// <summary>
    /// The wait before attempt <paramref name="failures"/> + 1: min × 2^failures capped at max,
    /// then scaled by a factor in [0.5, 1.0) from <paramref name="unitRandom"/> (in [0, 1)); never below
    /// 200 ms so a refusing server sees at most 5 connects per second from one connection.
    /// </summary>
    public static TimeSpan Delay(int failures, TimeSpan min, TimeSpan max, double unitRandom)
    {
        var exponent = Math.Min(failures, 30);
        var raw = Math.Min(max.TotalMilliseconds, min.TotalMilliseconds * Math.Pow(2, exponent));
        var jittered = raw * (0.5 + unitRandom / 2);
        return TimeSpan.FromMilliseconds(Math.Max(200, jittered));
    }
}
