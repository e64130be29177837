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
/// beyond the reserve (one for a holder of less than the others, which lets the smaller grow first):
/// all clients growing at once stay within the reserve.</item>
/// <item>Two windows without another client's request give back the whole window.</item>
/// </list>
/// Places freed by others' requests leaving the window are not taken over: they are theirs to reuse.
/// </summary>
internal static class SharePolicy
{
    public static int Full(RateLimitOptions options) => Math.Max(1, options.RequestsPerWindow - options.ReserveForOthers);

    /// <summary>
    /// With a reserve, another client was seen within <see cref="RateLimitOptions.OthersQuietAfter"/>:
    /// the limit grows back one place at a time, as the exchange's count allows, instead of at once,
    /// and the window as a whole keeps the reserved places free.
    /// </summary>
    public static bool Crowded(Share share, RateLimitOptions options, DateTimeOffset now) =>
        options.ReserveForOthers > 0 && now - share.OthersSeenAt < options.OthersQuietAfter;

    public static Share Initial(RateLimitOptions options, DateTimeOffset now) => new(Full(options), now, DateTimeOffset.MinValue, 0);

    /// <summary>
    /// One answer to a request granted at <paramref name="grantedAt"/>: the exchange counted
    /// <paramref name="used"/> requests in its window, of which at most <paramref name="oursAtMost"/>
    /// can have been ours.
    /// </summary>
    public static Share Observe(Share share, RateLimitOptions options, DateTimeOffset now, DateTimeOffset grantedAt, int used, int oursAtMost)
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

        // With a reserve the window as a whole keeps it free, so a holder of a third of the count or
        // less (no more than a fair share among three) need not give back (the larger ones do), and
        // may grow into the last place but the reserve.
        var small = options.ReserveForOthers > 0 && 3 * share.Limit <= used;
        if (sharing && used >= full - 1 && !small) return new(Cut(share.Limit, oursAtMost, used), now, share.OthersSeenAt, 0);
        var fullest = Math.Max(share.FullestSeen, used);
        if (now - share.ChangedAt < 2 * options.Window) return share with { FullestSeen = fullest };
        var limit = fullest <= full - 2 || (small && fullest <= full - 1) ? Math.Min(full, share.Limit + 1) : share.Limit;
        return new(limit, now, share.OthersSeenAt, 0);
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
