namespace Scraper.Pipeline;

/// <summary>
/// What to do after one attempt, as <see cref="RetryPolicy.Decide"/> computed it; each case carries
/// the attempt state after that attempt.
/// </summary>
internal abstract record RetryDecision(AttemptState State)
{
    /// <summary>The page is the window's result.</summary>
    public sealed record Accept(AttemptState State) : RetryDecision(State);

    /// <summary>Ask again after <paramref name="Delay"/> (and a new permit).</summary>
    public sealed record RetryAfter(AttemptState State, TimeSpan Delay) : RetryDecision(State);

    /// <summary>Ask again as soon as the limiter grants a permit: its pause is the wait.</summary>
    public sealed record RetryNow(AttemptState State) : RetryDecision(State);

    /// <summary>Skip the window: it stays a gap for a later pass. <paramref name="Why"/> is for the log.</summary>
    public sealed record GiveUp(AttemptState State, string Why) : RetryDecision(State);
}
