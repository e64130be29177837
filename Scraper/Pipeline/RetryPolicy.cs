using Scraper.Exchange;

namespace Scraper.Pipeline;

/// <summary>
/// How an attempt's outcome is answered: exponential back-off with a cap for transient failures, a
/// bounded number of them, one more look at an empty page. Every retry still waits for a rate-limit
/// permit, so back-off only adds to the pace.
/// </summary>
internal sealed record RetryPolicy
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

    /// <summary>
    /// The decision after one attempt that ended in <paramref name="outcome"/> (<paramref name="emptyPage"/>:
    /// a success without candles), given the state <paramref name="before"/> it. Pure.
    /// </summary>
    public RetryDecision Decide(ExchangeOutcome outcome, bool emptyPage, AttemptState before)
    {
        var after = before with { Attempts = before.Attempts + 1 };
        switch (outcome)
        {
            // An empty page may be a window without trades, or an exchange hiccup: a transient
            // empty array must not make a gap look covered, so ask once more.
            case ExchangeOutcome.Success when emptyPage && !before.EmptyRechecked:
                return new RetryDecision.RetryAfter(after with { EmptyRechecked = true }, InitialBackoff);
            case ExchangeOutcome.Success:
                return new RetryDecision.Accept(after);
            case ExchangeOutcome.Permanent:
                return new RetryDecision.GiveUp(after, "refused by the exchange");
            // 429 and 418 pause the group inside the limiter: the next permit is the wait, and they
            // do not count toward giving up.
            case ExchangeOutcome.RateLimited or ExchangeOutcome.Banned:
                return new RetryDecision.RetryNow(after);
            default:
                after = after with { TransientFailures = before.TransientFailures + 1 };
                return after.TransientFailures >= MaxAttempts
                    ? new RetryDecision.GiveUp(after, "gave up after retries")
                    : new RetryDecision.RetryAfter(after, BackoffFor(after.TransientFailures - 1));
        }
    }
}
