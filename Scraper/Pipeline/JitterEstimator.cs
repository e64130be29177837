namespace Scraper.Pipeline;

/// <summary>
/// Estimates how unevenly requests that leave together reach the exchange, from the spread of
/// recent response times (the 90th minus the 10th percentile). A request delayed on the way there
/// comes back late by the same amount, so the spread bounds the arrival jitter from above.
/// </summary>
internal sealed class JitterEstimator
{
    private const int Capacity = 64;
    private const int MinimumSamples = 16;
    private readonly long[] _ticks = new long[Capacity];
    private int _count;
    private int _next;

    /// <summary>Records one round-trip time.</summary>
    public void Add(TimeSpan duration)
    {
        _ticks[_next] = duration.Ticks;
        _next = (_next + 1) % Capacity;
        if (_count < Capacity) _count++;
    }

    /// <summary>The current estimate; zero until enough samples are in.</summary>
    public TimeSpan Estimate()
    {
        if (_count < MinimumSamples) return TimeSpan.Zero;
        var sorted = _ticks.AsSpan(0, _count).ToArray();
        Array.Sort(sorted);
        var p10 = sorted[(int)(_count * 0.1)];
        var p90 = sorted[(int)(_count * 0.9)];
        return TimeSpan.FromTicks(p90 - p10);
    }
}
