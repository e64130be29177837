namespace Scraper.Pipeline;

/// <summary>Why a rate-limit group stopped sending for a while.</summary>
internal enum PauseReason
{
    /// <summary>The exchange said <c>sec=0</c>, or counted more requests than we sent.</summary>
    RemainingExhausted,
    /// <summary>HTTP 429.</summary>
    RateLimited,
    /// <summary>HTTP 418: the IP is blocked, every group of it stops.</summary>
    Banned,
}

/// <summary>A pause of one group, for logs and metrics; <paramref name="Until"/> is wall time (the scheduler's clock).</summary>
internal sealed record RateLimitPause(string Group, PauseReason Reason, DateTimeOffset Until, TimeSpan Margin);

/// <summary>
/// One slice of permits as it left the group: when (on the group's monotonic clock), how many, and
/// whether it was the one probe after an IP block.
/// </summary>
internal sealed record RateLimitSlice(string Group, DateTimeOffset At, int Permits, bool Probe);
