namespace Scraper.Pipeline;

/// <summary>
/// How transient failures are retried: exponential back-off with a cap, a bounded number of
/// attempts. Every retry still waits for a rate-limit permit, so back-off only adds to the pace.
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>First back-off.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest back-off.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts per window before it is given up (and left for a later pass).</summary>
    public int MaxAttempts { get; init; } = 8;

    /// <summary>Back-off before retry number <paramref name="retry"/> (0-based).</summary>
    public TimeSpan BackoffFor(int retry)
    {
        var factor = Math.Pow(2, Math.Min(retry, 20));
        var backoff = InitialBackoff * factor;
        return backoff < MaxBackoff ? backoff : MaxBackoff;
    }
}
