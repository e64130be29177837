namespace Scraper.Pipeline;

/// <summary>A pause of one group, for logs and metrics; <paramref name="Until"/> is wall time (the scheduler's clock).</summary>
internal sealed record RateLimitPause(string Group, PauseReason Reason, DateTimeOffset Until, TimeSpan Margin);

