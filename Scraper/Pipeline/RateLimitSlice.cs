namespace Scraper.Pipeline;

/// <summary>
/// One slice of permits as it left the group: when (on the group's monotonic clock), how many, and
/// whether it was the one probe after an IP block.
/// </summary>
internal sealed record RateLimitSlice(string Group, DateTimeOffset At, int Permits, bool Probe);
