namespace Scraper.Pipeline;

/// <summary>
/// What the attempts at one window have done so far: the value <see cref="RetryPolicy.Decide"/>
/// folds each outcome into, so the retry loop keeps no counters of its own.
/// </summary>
/// <param name="Attempts">Attempts sent.</param>
/// <param name="TransientFailures">Transient failures (5xx, timeouts…); 429 and 418 do not count, the limiter waits them out.</param>
/// <param name="EmptyRechecked">An empty page was already asked for once more.</param>
internal sealed record AttemptState(int Attempts, int TransientFailures, bool EmptyRechecked)
{
    /// <summary>Before the first attempt.</summary>
    public static AttemptState First { get; } = new(0, 0, false);

    /// <summary>True when the attempt about to be sent is a retry.</summary>
    public bool IsRetry => Attempts > 0;
}
