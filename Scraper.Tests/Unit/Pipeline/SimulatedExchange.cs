using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;
using Scraper.Exchange;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>
/// An exchange in virtual time that counts each request when it arrives, in a sliding window
/// (refusing with a 429 what would be one too many), and answers with Remaining-Req after the
/// request's way back. The way there and back are the caller's, per request. With
/// <see cref="BucketEdge"/> set it counts in fixed buckets instead, one window long, from that edge on.
/// </summary>
internal sealed class SimulatedExchange(TestScheduler scheduler, int limit = 10)
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    /// <summary>When each counted request arrived (others' requests included).</summary>
    public List<DateTimeOffset> Counted { get; } = [];

    /// <summary>One edge of fixed buckets (the count starts again at every edge); null: a sliding window.</summary>
    public DateTimeOffset? BucketEdge { get; set; }

    /// <summary>When each request of ours arrived, counted or refused.</summary>
    public Dictionary<RateLimitLease, DateTimeOffset> Arrivals { get; } = [];

    /// <summary>Whether answers carry the round trip as the connection saw it (the client's does).</summary>
    public bool AtWire { get; init; } = true;

    /// <summary>Requests refused with a 429.</summary>
    public int Refused { get; private set; }

    /// <summary>
    /// Sends one request of the lease: it arrives after <paramref name="there"/>, its answer comes
    /// back after <paramref name="back"/>, and <paramref name="answered"/> runs just before the lease is completed.
    /// The client's own delays — before the request's bytes leave (<paramref name="beforeWire"/>: a cold
    /// connection, JIT, a thread-pool wake-up) and between the answer's bytes arriving and the lease being
    /// completed (<paramref name="afterWire"/>) — are in the round trip the client measures, not at the wire.
    /// Time spent inside the write before the bytes leave (<paramref name="inWrite"/>: JIT of a cold
    /// process, a thread preempted before its send) is at the wire too, and the connection tells it apart.
    /// </summary>
    public void Send(RateLimitLease lease, TimeSpan there, TimeSpan back, Action? answered = null, TimeSpan beforeWire = default, TimeSpan afterWire = default, TimeSpan inWrite = default)
    {
        var wire = AtWire ? new WireTiming(inWrite + there + back, afterWire, inWrite) : null;
        var sent = scheduler.Now;
        scheduler.Schedule(beforeWire + inWrite + there, () =>
        {
            var now = scheduler.Now;
            Arrivals[lease] = now;
            var inWindow = Counted.Count(a => InWindow(a, now));
            var allowed = inWindow < limit;
            if (allowed) Counted.Add(now);
            else Refused++;
            var remaining = allowed ? limit - inWindow - 1 : 0;
            scheduler.Schedule(back + afterWire, () =>
            {
                answered?.Invoke();
                lease.Complete(scheduler.Now - sent, allowed ? ExchangeOutcome.Success : ExchangeOutcome.RateLimited, new RemainingRequests("candles", remaining), null, wire);
            });
        });
    }

    private bool InWindow(DateTimeOffset arrival, DateTimeOffset now) =>
        BucketEdge is { } edge ? Bucket(arrival, edge) == Bucket(now, edge) : arrival > now - Window;

    private static long Bucket(DateTimeOffset at, DateTimeOffset edge) => (long)Math.Floor((at - edge) / Window);
}
