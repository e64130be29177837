using System.Reactive;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using Microsoft.Extensions.Logging;
using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Metrics;

namespace Scraper.Pipeline;

/// <summary>
/// The design's pipeline for candle pages, read top to bottom: windows wait for a permit of the
/// time-sliced rate limiter (at most N per slice), <c>SelectMany</c> runs the HTTP calls
/// concurrently, transient failures are retried with back-off through <c>RetryWhen</c> (each retry
/// waits for a new permit, so it spends from the same budget), permanent ones go through
/// <c>Catch</c> and skip the window, and side effects keep the metrics and the limiter informed.
/// </summary>
public sealed partial class CandleFetchPipeline(
    IUpbitClient client,
    RateLimitGroup limiter,
    RetryPolicy retryPolicy,
    IScheduler scheduler,
    ScraperMetrics metrics,
    FailureLog failures,
    ILogger<CandleFetchPipeline> logger,
    ClockSkewMonitor? clock = null)
{
    // Replays the stop to back-off timers that start after it.
    private readonly AsyncSubject<Unit> _stopping = new();
    private int _inFlight;

    /// <summary>Requests sent and not yet answered.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

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
    public IObservable<WindowResult> FetchWindow(CandleWindow window)
    {
        var attempts = 0;
        var transientFailures = 0;
        var emptyRechecked = false;

        var oneAttempt = Observable.Defer(() =>
        {
            var isRetry = attempts++ > 0;
            return limiter.Acquire()
                .Do(_ => (isRetry ? metrics.RequestRetry : metrics.RequestNew).WithLabels(limiter.Name).Inc())
                .SelectMany(lease => Observable.Defer(() =>
                    {
                        Interlocked.Increment(ref _inFlight);
                        return Observable.FromAsync(ct => client.GetCandlesAsync(window.Query, ct))
                            .Finally(() => Interlocked.Decrement(ref _inFlight));
                    })
                    .Select(response => (lease, response)))
                .Do(x => Observe(window, x.lease, x.response))
                .Select(x => x.response.Outcome switch
                {
                    // An empty page may be a window without trades, or an exchange hiccup: a
                    // transient empty array must not make a gap look covered, so ask once more.
                    ExchangeOutcome.Success when x.response.Value is { Count: 0 } && !emptyRechecked => throw new EmptyPageException(x.response),
                    ExchangeOutcome.Success => x.response,
                    ExchangeOutcome.Permanent => throw new PermanentExchangeException(x.response),
                    _ => throw new RetryableExchangeException(x.response),
                });
        });

        return oneAttempt
            .RetryWhen(errors => errors.SelectMany(error =>
            {
                if (error is EmptyPageException)
                {
                    emptyRechecked = true;
                    return BackOff(retryPolicy.InitialBackoff);
                }
                if (error is not RetryableExchangeException retryable) return Observable.Throw<long>(error);
                // 429 and 418 wait inside the limiter (it pauses the group); only the other
                // transient failures back off here and count toward giving up.
                if (retryable.Response.Outcome is ExchangeOutcome.RateLimited or ExchangeOutcome.Banned)
                    return Observable.Return(0L);
                if (++transientFailures >= retryPolicy.MaxAttempts) return Observable.Throw<long>(error);
                return BackOff(retryPolicy.BackoffFor(transientFailures - 1));
            }))
            .Select(response => new WindowResult(window, response, attempts))
            .Catch((RetryableExchangeException e) => Skip(window, e.Response, attempts, "gave up after retries"))
            .Catch((PermanentExchangeException e) => Skip(window, e.Response, attempts, "refused by the exchange"))
            .Catch((StoppedException _) => Observable.Empty<WindowResult>());
    }

    /// <summary>A back-off that a stop ends at once, with <see cref="StoppedException"/>.</summary>
    private IObservable<long> BackOff(TimeSpan delay) =>
        Observable.Amb(
            Observable.Timer(delay, scheduler),
            _stopping.SelectMany(_ => Observable.Throw<long>(new StoppedException())));

    private IObservable<WindowResult> Skip(CandleWindow window, ExchangeResponse<IReadOnlyList<Candle>> response, int attempts, string why)
    {
        metrics.WindowsSkipped.WithLabels(window.Series.Market, window.Series.Unit.Name).Inc();
        // Skips come in bursts (an unreachable exchange skips every window): one line when a burst
        // starts, a count while it goes on and when it ends; each one singly at Debug.
        var detail = $"{window.Series.Market} unit {window.Series.Unit.Name} window {window.Range} after {attempts} attempts, last {response.FailureReason}: {response.Detail}";
        LogSkipped(logger, why, detail);
        failures.Failure(limiter.Name, $"windows skipped ({why})", LogLevel.Warning, detail + "; each stays a gap and is tried again on the next pass");
        return Observable.Return(new WindowResult(window, response, attempts));
    }

    private void Observe(CandleWindow window, RateLimitLease lease, ExchangeResponse<IReadOnlyList<Candle>> response)
    {
        ResponseObserver.Record(metrics, limiter, failures, lease, response,
            $"{window.Series.Market} unit {window.Series.Unit.Name} window {window.Range}", clock);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "window skipped ({Why}): {Detail}")]
    private static partial void LogSkipped(ILogger logger, string why, string detail);

    private sealed class StoppedException() : Exception("stopped");
}
