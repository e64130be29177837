using Scraper.Exchange;

namespace Scraper.Pipeline;

/// <summary>
/// One permit of a <see cref="RateLimitGroup"/>, for one request: complete it with the request's
/// answer. A lease that is disposed (or dropped) unanswered keeps its place in the window for the
/// in-flight hold, because its request may still reach the exchange; if it was the probe of an IP
/// block, another probe may go.
/// </summary>
internal sealed class RateLimitLease : IDisposable
{
    private readonly RateLimitGroup _group;
    private int _done;

    internal RateLimitLease(RateLimitGroup group, DateTimeOffset grantedAt, long blockEpoch, bool isProbe)
    {
        _group = group;
        GrantedAt = grantedAt;
        BlockEpoch = blockEpoch;
        IsProbe = isProbe;
    }

    /// <summary>When the permit was granted, on the group's monotonic clock.</summary>
    public DateTimeOffset GrantedAt { get; }

    /// <summary>True for the one request sent when an IP block ended, to see whether it did.</summary>
    public bool IsProbe { get; }

    /// <summary>Places of the window our own requests held with this one when it was granted.</summary>
    internal int HeldAtGrant { get; init; }

    /// <summary>Which IP block was the last known when the permit was granted.</summary>
    internal long BlockEpoch { get; }

    /// <summary>Once answered: when its request reached the exchange at the latest; null while in flight.</summary>
    internal DateTimeOffset? Booked { get; set; }

    /// <summary>When the answer's first bytes came in (else when it was handed over), on the group's monotonic clock.</summary>
    internal DateTimeOffset AnsweredAt { get; set; }

    /// <summary>When the request's bytes had left (its last write returned; else when the permit was granted): it cannot have arrived before.</summary>
    internal DateTimeOffset SentAt { get; set; }

    /// <summary>
    /// Folds the answer into the group (once; later calls are ignored). <paramref name="duration"/> is
    /// the round trip as the caller measured it; <paramref name="wire"/>, when known, as the connection saw it.
    /// </summary>
    public void Complete(TimeSpan duration, ExchangeOutcome outcome, RemainingRequests? remaining, TimeSpan? blockDuration, WireTiming? wire = null)
    {
        if (Interlocked.Exchange(ref _done, 1) == 0) _group.OnResponse(this, duration, outcome, remaining, blockDuration, wire);
    }

    /// <summary>Gives the lease up unanswered.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _done, 1) == 0) _group.Abandon(this);
    }
}
