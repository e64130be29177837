namespace Scraper.Exchange;

/// <summary>
/// Times one request on its connection: when its first write began, when its last write returned
/// (its bytes had left by then) and when the first byte of its response was read. Started on the
/// request's own async flow (<see cref="Start"/>), which flows into the connection's writes; the
/// read is matched by connection, since a connection reads ahead while idle, on no request's flow.
/// HTTP/1.1 carries one request at a time per connection, so the first bytes read after a request's
/// write are its response's. A request that is not seen on a connection (HTTP/2, a failure before
/// the write) has no wire timing.
/// </summary>
internal sealed class WireTimer
{
    private static readonly AsyncLocal<WireTimer?> CurrentTimer = new();
    private readonly TimeProvider _time;
    private long _sentAt;
    private long _leftAt;
    private long _answeredAt;

    private WireTimer(TimeProvider time) => _time = time;

    /// <summary>The timer of the request on this async flow, if any.</summary>
    internal static WireTimer? Current => CurrentTimer.Value;

    /// <summary>Starts timing the request about to be sent on this async flow (and its callees).</summary>
    public static WireTimer Start(TimeProvider time)
    {
        var timer = new WireTimer(time);
        CurrentTimer.Value = timer;
        return timer;
    }

    /// <summary>Wraps every connection's plaintext stream (after TLS), so only HTTP bytes are timed.</summary>
    public static void Attach(SocketsHttpHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        handler.PlaintextStreamFilter = (context, _) => ValueTask.FromResult<Stream>(new WireTimingStream(context.PlaintextStream));
    }

    /// <summary>The timing once both ends were seen; null otherwise.</summary>
    public WireTiming? Measure()
    {
        var sent = Interlocked.Read(ref _sentAt);
        var answered = Interlocked.Read(ref _answeredAt);
        if (sent == 0 || answered == 0) return null;
        // A write whose return was not seen before the answer left before the answer, when is unknown.
        var left = Interlocked.Read(ref _leftAt) is var written && written != 0 ? Math.Clamp(written, sent, answered) : answered;
        return new WireTiming(_time.GetElapsedTime(sent, answered), _time.GetElapsedTime(answered), _time.GetElapsedTime(sent, left));
    }

    /// <summary>A write of this request begins: the first one stamps the start of the round trip.</summary>
    internal void Writing() => Interlocked.CompareExchange(ref _sentAt, Stamp(), 0);

    /// <summary>A write of this request returned, so its bytes have left; the last one before the answer counts.</summary>
    internal void Written()
    {
        if (Interlocked.Read(ref _answeredAt) == 0) Interlocked.Exchange(ref _leftAt, Stamp());
    }

    /// <summary>The first bytes of the response came in (later reads are ignored).</summary>
    internal void Answered()
    {
        if (Interlocked.Read(ref _sentAt) != 0) Interlocked.CompareExchange(ref _answeredAt, Stamp(), 0);
    }

    // Zero marks "not yet": a clock that reads zero is taken as one tick later.
    private long Stamp() => Math.Max(1, _time.GetTimestamp());
}
