namespace Scraper.Pipeline;

/// <summary>
/// The fastest recent round trip. An answer that took longer than that was delayed somewhere —
/// in this process (a cold start, a pause), on the network, or at the exchange — and the request
/// may have reached the exchange as late as <c>answer time − fastest round trip</c>.
/// </summary>
internal sealed class RoundTripStats
{
    private const int Capacity = 64;
    private readonly long[] _ticks = new long[Capacity];
    private int _count;
    private int _next;

    /// <summary>Records one round-trip time.</summary>
    public void Add(TimeSpan duration)
    {
        _ticks[_next] = Math.Max(0, duration.Ticks);
        _next = (_next + 1) % Capacity;
        if (_count < Capacity) _count++;
    }

    /// <summary>
    /// The fastest of the recent round trips, once at least <paramref name="minimumSamples"/> are in;
    /// null before. The first answers of a fresh process are slow for reasons of its own (JIT,
    /// connections, the exchange's cold caches): their minimum would overstate how long an answer
    /// takes after its request arrived, so it is not trusted until the sample is broad enough.
    /// </summary>
    public TimeSpan? Fastest(int minimumSamples)
    {
        if (_count == 0 || _count < minimumSamples) return null;
        var min = long.MaxValue;
        for (var i = 0; i < _count; i++) min = Math.Min(min, _ticks[i]);
        return TimeSpan.FromTicks(min);
    }

    /// <summary>How many round trips are in (at most the last 64).</summary>
    public int Count => _count;

    /// <summary>
    /// Whether the round trips agree on their fastest: the slowest is within a quarter (and 5 ms) of
    /// it. Round trips that scatter far above their fastest were held up in changing amounts, and the
    /// fastest of them may still hold a wait of the same kind.
    /// </summary>
    public bool AgreeOn(TimeSpan fastest)
    {
        if (_count == 0) return false;
        var slowest = 0L;
        for (var i = 0; i < _count; i++) slowest = Math.Max(slowest, _ticks[i]);
        return TimeSpan.FromTicks(slowest) <= fastest * 1.25 + TimeSpan.FromMilliseconds(5);
    }
}
