namespace Scraper.Pipeline;

/// <summary>
/// One request of ours as <see cref="FixedBucketEdge"/> sees it: it reached the exchange after it was
/// granted and before its answer came back (or, unanswered, before the in-flight hold ran out).
/// </summary>
internal sealed class FixedBucketRequest(RateLimitLease lease)
{
    public RateLimitLease Lease { get; } = lease;

    public DateTimeOffset GrantedAt => Lease.GrantedAt;

    /// <summary>When its answer was folded in; null while in flight.</summary>
    public DateTimeOffset? AnsweredAt { get; set; }

    /// <summary>Answered with success: the exchange counted it.</summary>
    public bool Counted { get; set; }

    /// <summary>The bucket (numbered from the learnt edge) it certainly reached, with the exchange's count there then.</summary>
    public (long Bucket, int Count)? Anchor { get; set; }

    /// <summary>The latest it can have reached the exchange.</summary>
    public DateTimeOffset Latest(TimeSpan maxHold) =>
        AnsweredAt ?? (DateTimeOffset.MaxValue - GrantedAt > maxHold + TimeSpan.FromDays(1) ? GrantedAt + maxHold : DateTimeOffset.MaxValue - TimeSpan.FromDays(1));
}
