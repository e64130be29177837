namespace Scraper.Pipeline;

/// <summary>The pace's decisions, as pure functions of the pace, the options and the time.</summary>
internal static class PacePolicy
{
    public static Pace Initial(RateLimitOptions options, DateTimeOffset now) => new(options.RequestsPerWindow, TimeSpan.Zero, now);

    /// <summary>
    /// A 429: the penalty starts or doubles and the permits halve — once per pause, so one slice's
    /// worth of 429s lowers the pace once, not once per response.
    /// </summary>
    public static Pace RateLimited(Pace pace, RateLimitOptions options, DateTimeOffset now, bool alreadyPaused) =>
        alreadyPaused
            ? pace with { Since = now }
            : new(Math.Max(1, pace.Permits / 2),
                pace.Penalty == TimeSpan.Zero ? options.RateLimitedPenalty : Min(pace.Penalty * 2, options.MaxPenalty),
                now);

    /// <summary>Every quiet decay period since the last 429 halves the penalty and gives back one permit.</summary>
    public static Pace Recover(Pace pace, RateLimitOptions options, DateTimeOffset now)
    {
        while ((pace.Penalty > TimeSpan.Zero || pace.Permits < options.RequestsPerWindow) && now - pace.Since >= options.PenaltyDecayAfter)
        {
            pace = new(Math.Min(options.RequestsPerWindow, pace.Permits + 1),
                pace.Penalty < TimeSpan.FromMilliseconds(2) ? TimeSpan.Zero : pace.Penalty / 2,
                pace.Since + options.PenaltyDecayAfter);
        }
        return pace;
    }

    /// <summary>The window enforced: the exchange's window, the margin and the penalty.</summary>
    public static TimeSpan Window(Pace pace, RateLimitOptions options) => options.Window + options.BaseMargin + pace.Penalty;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
