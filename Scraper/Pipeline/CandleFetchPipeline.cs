using System.Reactive;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using Microsoft.Extensions.Logging;
using Scraper.Domain;
using Scraper.Exchange;

namespace Scraper.Pipeline;

/// <summary>
/// The design's pipeline for candle pages, read top to bottom: windows → a permit of the
/// time-sliced rate limiter → the HTTP call (<c>SelectMany</c>, concurrent) → the retry decision of
/// <see cref="RetryPolicy"/> → a skipped window on give-up → one result per window. A retry waits
/// for a new permit, so it spends from the same budget as first attempts.
/// </summary>
internal sealed partial class CandleFetchPipeline(
    IUpbitClient client,
    RateLimitGroup limiter,
    RetryPolicy retryPolicy,
    IScheduler scheduler,
    IPipelineTelemetry telemetry,
    FailureLog failures,
    ILogger<CandleFetchPipeline> logger,
    ClockSkewMonitor? clock = null)
{
    private readonly ExchangeAttempts _attempts = new(limiter, telemetry, failures, clock);

    // Replays the stop to back-off timers that start after it.
    private readonly AsyncSubject<Unit> _stopping = new();

    /// <summary>Requests sent and not yet answered.</summary>
    public int InFlight => _attempts.InFlight;

    /// <summary>
    /// Stops retrying: a window waiting out a back-off ends at once without a result (it stays a
    /// gap). Responses in flight still arrive. Together with the limiter's Stop nothing new is sent.
    /// </summary>
    public void Stop()
    {
        _stopping.OnNext(Unit.Default);
        _stopping.OnCompleted();
    }

    /// <summary>
    /// Fetches every window; one result per window that was attempted (none for windows still
    /// waiting when the limiter is stopped). At most <paramref name="maxInFlight"/> windows are
    /// between their first permit request and their result at any time, so memory stays flat.
    /// </summary>
    public IObservable<WindowResult> Fetch(IEnumerable<CandleWindow> windows, int maxInFlight) =>
        windows.ToObservable(ImmediateScheduler.Instance)
            .Select(FetchWindow)
            .Merge(maxInFlight);

    /// <summary>All attempts of one window, ending in one result (fetched or skipped).</summary>
    public IObservable<WindowResult> FetchWindow(CandleWindow window) => Attempt(window, AttemptState.First);

    /// <summary>One attempt and what its decision leads to: another attempt, a skipped window or the result.</summary>
    private IObservable<WindowResult> Attempt(CandleWindow window, AttemptState state) =>
        _attempts.Send(ct => client.GetCandlesAsync(window.Query, ct), Describe(window), state.IsRetry) // permit → HTTP
            .SelectMany(response => retryPolicy.Decide(response.Outcome, response.Value is { Count: 0 }, state) switch
            {
                RetryDecision.RetryAfter after => Retry(window, after),
                RetryDecision.RetryNow now => Attempt(window, now.State),
                RetryDecision.GiveUp giveUp => Observable.Return(Skip(window, response, giveUp)),
                var accept => Observable.Return(new WindowResult(window, response, accept.State.Attempts)),
            });

    /// <summary>The next attempt after the back-off; a stop ends the back-off at once, empty: the window stays a gap.</summary>
    private IObservable<WindowResult> Retry(CandleWindow window, RetryDecision.RetryAfter decision)
    {
        telemetry.Report(new PipelineEvent.WindowRetried(window.Series, decision.Delay, decision.State));
        return Observable.Timer(decision.Delay, scheduler).TakeUntil(_stopping).SelectMany(_ => Attempt(window, decision.State));
    }

    private WindowResult Skip(CandleWindow window, ExchangeResponse<IReadOnlyList<Candle>> response, RetryDecision.GiveUp decision)
    {
        telemetry.Report(new PipelineEvent.WindowSkipped(window.Series));
        // Skips come in bursts (an unreachable exchange skips every window): one line when a burst
        // starts, a count while it goes on and when it ends; each one singly at Debug.
        var detail = $"{Describe(window)} after {decision.State.Attempts} attempts, last {response.FailureReason}: {response.Detail}";
        LogSkipped(logger, decision.Why, detail);
        failures.Failure(limiter.Name, $"windows skipped ({decision.Why})", LogLevel.Warning, detail + "; each stays a gap and is tried again on the next pass");
        return new WindowResult(window, response, decision.State.Attempts);
    }

    private static string Describe(CandleWindow window) => $"{window.Series.Market} unit {window.Series.Unit.Name} window {window.Range}";

    [LoggerMessage(Level = LogLevel.Debug, Message = "window skipped ({Why}): {Detail}")]
    private static partial void LogSkipped(ILogger logger, string why, string detail);
}
