namespace Scraper.Pipeline;

/// <summary>
/// Sharing the window with other clients on the same IP without talking to them. The only signal is
/// the exchange's own count (<c>Remaining-Req</c>) compared with what this process can at most have
/// sent into the same window: a count above that is another client.
/// <list type="bullet">
/// <item>Alone, a process holds all but <see cref="RateLimitOptions.ReserveForOthers"/> places: a
/// newcomer's first request lands in a window that is never full, so it is counted (not refused) and
/// the incumbent sees it. Without that free place a newcomer's requests are refused unseen until one
/// happens to fall into a gap.</item>
/// <item>While others are there, a count that reaches the limit less the reserve cuts the own limit to
/// three quarters of what this process holds (once per change: only answers to requests granted
/// after it count), so larger holders give back more and the shares converge.</item>
/// <item>The limit grows by one place after two windows in which the count always left two places
/// beyond the reserve: all clients growing at once stay within the reserve.</item>
/// <item>Two windows without another client's request give back the whole window.</item>
/// </list>
/// With a reserve the reserved place must stay free in the window as a whole, not only in this
/// process's part of it (<see cref="RateLimitGroup"/> also holds others' places until a later count
/// replaces them), so the rules tighten: another client counts as there for
/// <see cref="RateLimitOptions.OthersQuietAfter"/> after it was last seen (a small holder's requests
/// are seldom told apart from our own, and jumping back to the whole window on a false "alone" is
/// what fills the reserve); a holder of a third of the count or less does not give back; and only a
/// holder that fills its places grows, after as many windows as it holds places (at least two), so
/// holders seldom grow at once and the smaller grow first.
/// Places freed by others' requests leaving the window are not taken over: they are theirs to reuse.
/// </summary>
internal static class SharePolicy
{
    public static int Full(RateLimitOptions options) => Math.Max(1, options.RequestsPerWindow - options.ReserveForOthers);

    /// <summary>With a reserve, another client was seen within <see cref="RateLimitOptions.OthersQuietAfter"/>.</summary>
    public static bool Crowded(Share share, RateLimitOptions options, DateTimeOffset now) =>
        options.ReserveForOthers > 0 && now - share.OthersSeenAt < options.OthersQuietAfter;

    public static Share Initial(RateLimitOptions options, DateTimeOffset now) => new(Full(options), now, DateTimeOffset.MinValue, 0);

    /// <summary>
    /// One answer to a request granted at <paramref name="grantedAt"/>: the exchange counted
    /// <paramref name="used"/> requests in its window, of which at most <paramref name="oursAtMost"/>
    /// can have been ours; <paramref name="heldAtGrant"/> of our places were taken when it was granted.
    /// </summary>
    public static Share Observe(Share share, RateLimitOptions options, DateTimeOffset now, DateTimeOffset grantedAt, int used, int oursAtMost, int heldAtGrant)
    {
        var full = Full(options);
        var others = used - oursAtMost;
        if (others > 0)
        {
            // Others appear: keep no more than we hold (a newcomer starts from its first request).
            var held = Math.Max(1, Math.Min(share.Limit, oursAtMost));
            if (now - share.OthersSeenAt >= 2 * options.Window && held < share.Limit) share = new(held, now, now, 0);
            share = share with { OthersSeenAt = now };
        }
        var sharing = now - share.OthersSeenAt < 2 * options.Window;
        if (!sharing && !Crowded(share, options, now))
            return share.Limit == full ? share : new(full, now, share.OthersSeenAt, 0);
        if (grantedAt < share.ChangedAt) return share;

        var reserved = options.ReserveForOthers > 0;
        var small = reserved && 3 * share.Limit <= used;
        if (sharing && used >= full - 1 && !small) return new(Cut(share.Limit, oursAtMost, used), now, share.OthersSeenAt, 0);
        var fullest = Math.Max(share.FullestSeen, used);
        var wait = reserved ? Math.Max(2, share.Limit) : 2;
        if (now - share.ChangedAt < wait * options.Window) return share with { FullestSeen = fullest };
        var grow = fullest <= full - 2 && (!reserved || heldAtGrant >= share.Limit);
        return new(grow ? Math.Min(full, share.Limit + 1) : share.Limit, now, share.OthersSeenAt, 0);
    }

    /// <summary>A 429: the window was overfull whoever else is there; cut as a full count does (once per change).</summary>
    public static Share RateLimited(Share share, DateTimeOffset now, DateTimeOffset grantedAt, int oursAtMost) =>
        grantedAt < share.ChangedAt ? share : new(Cut(share.Limit, oursAtMost, oursAtMost), now, now, 0);

    /// <summary>
    /// Three quarters of what we hold; half when we hold more than half of the exchange's count, so a
    /// process that had the window to itself gives most of it back in the first cut.
    /// </summary>
    private static int Cut(int limit, int ours, int used)
    {
        var held = Math.Min(limit, ours);
        return Math.Max(1, 2 * held > used ? held / 2 : held * 3 / 4);
    }
}
