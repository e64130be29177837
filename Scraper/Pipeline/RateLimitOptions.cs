namespace Scraper.Pipeline;

/// <summary>How fast one rate-limit group may go, and how it backs off when the exchange objects.</summary>
internal sealed record RateLimitOptions
{
    /// <summary>Attempts allowed in any window of <see cref="Window"/> (the exchange's per-second limit).</summary>
    public int RequestsPerWindow { get; init; } = 10;

    /// <summary>The exchange's counting window.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Slack added to every window (clock granularity, timer lateness on the exchange's side);
    /// small, so the pace stays close to the allowed rate. Network delays are accounted per request
    /// instead: a permit counts from when its request can at the latest have reached the exchange.
    /// </summary>
    public TimeSpan BaseMargin { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// How long a permit whose request is still unanswered holds its place at most. Until the
    /// answer comes back nobody knows when the request reached the exchange: a stalled exchange
    /// may count it seconds later, together with whatever was sent meanwhile. Set it above the
    /// request timeout (the default suits the default 10 s timeout), so only a request that was
    /// given up on frees its place unanswered.
    /// </summary>
    public TimeSpan MaxInFlightHold { get; init; } = TimeSpan.FromSeconds(11);

    /// <summary>Margin added after the first 429; doubles on each further 429.</summary>
    public TimeSpan RateLimitedPenalty { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Largest penalty margin.</summary>
    public TimeSpan MaxPenalty { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>After this long without a 429 the penalty halves (recovery).</summary>
    public TimeSpan PenaltyDecayAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Send one request and wait for its answer before releasing full slices. Its Remaining-Req
    /// tells how much of the window is already spent on this IP, for example by the process this
    /// one replaces after a restart, whose last requests are still inside the exchange's window; a
    /// full first slice would run into them and draw 429s. Costs one round trip at start.
    /// </summary>
    public bool SlowStart { get; init; } = true;

    /// <summary>
    /// Places of the window a process leaves free even when alone, so that another process starting
    /// on the same IP (a manual backfill beside the daemon) gets its first request counted instead of
    /// refused; the exchange's count then shows it to both and they share the window. Zero takes the
    /// whole window, at the price of the newcomer's 429s until one of its requests falls into a gap.
    /// </summary>
    public int ReserveForOthers { get; init; } = 0;

    /// <summary>
    /// With a reserve: how long after the last sign of another client on the IP the group still
    /// counts on it being there (a small holder's requests are seldom told apart from our own).
    /// </summary>
    public TimeSpan OthersQuietAfter { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Ban back-off when a 418 gives no block duration; doubles per ban.</summary>
    public TimeSpan DefaultBanDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest ban back-off.</summary>
    public TimeSpan MaxBanDuration { get; init; } = TimeSpan.FromHours(1);
}
