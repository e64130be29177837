namespace Scraper.Pipeline;

/// <summary>
/// The fastest recent round trip. An answer that took longer than that was delayed somewhere —
/// in this process (a cold start, a pause), on the network, or at the exchange — and the request
/// may have reached the exchange as late as <c>answer time − fastest round trip</c>.
/// <para>
/// Why the fastest whole round trip and not, say, <c>send + fastest / 2</c>: the exchange counts a
/// request when it arrives, somewhere between its send and its answer, and how a round trip splits
/// into the way there and the way back is unknown (all of it can be on the way back: the request then
/// arrives as it is sent). An earlier request <c>i</c> has left the window before a later <c>j</c>
/// arrives when <c>send(j) + there(j) ≥ answer(i) − back(i) + window</c>: what matters is the sum
/// <c>there(j) + back(i)</c> of two different requests, never one leg alone. That sum is at least the
/// fastest round trip as long as the fastest request took the short way both ways; so booking
/// <c>i</c> at <c>answer − fastest</c> (= its send plus however much slower it was than the fastest)
/// and sending <c>j</c> a window later is an honest bound, and <c>send + fastest / 2</c> is one only
/// under that same assumption with both halves added back.
/// </para>
/// <para>
/// Hence the samples must include a request that paid no one-off cost on its way there: a new
/// connection's handshake is paid before the request leaves, so a fastest taken only from requests
/// on new connections would overstate the sum for the warm ones that follow. The probe of the slow
/// start opens the first connection and its answer returns it to the pool; one request of the first
/// full slice then rides it warm. So the probe and one full slice (N samples) are enough, and in
/// general N samples from at least two sends: the requests of the second went out after the first's
/// answers had put their connections back in the pool.
/// </para>
/// </summary>
internal sealed class RoundTripStats
{
    private const int Capacity = 64;
    private readonly long[] _ticks = new long[Capacity];
    private int _count;
    private int _next;
    private DateTimeOffset? _firstSent;
    private bool _laterSend;

    /// <summary>Records one round-trip time of a request sent at <paramref name="sentAt"/>.</summary>
    public void Add(TimeSpan duration, DateTimeOffset sentAt)
    {
        _firstSent ??= sentAt;
        _laterSend |= sentAt != _firstSent;
        _ticks[_next] = Math.Max(0, duration.Ticks);
        _next = (_next + 1) % Capacity;
        if (_count < Capacity) _count++;
    }

    /// <summary>
    /// The fastest of the recent round trips, once at least <paramref name="minimumSamples"/> are in
    /// from at least two sends; zero before (then an answer books its request at the answer's own time).
    /// </summary>
    public TimeSpan Fastest(int minimumSamples)
    {
        if (_count == 0 || _count < minimumSamples || !_laterSend) return TimeSpan.Zero;
        var min = long.MaxValue;
        for (var i = 0; i < _count; i++) min = Math.Min(min, _ticks[i]);
        return TimeSpan.FromTicks(min);
    }
}
