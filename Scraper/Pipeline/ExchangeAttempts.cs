using System.Reactive.Linq;
using Scraper.Exchange;
using Scraper.Metrics;

namespace Scraper.Pipeline;

/// <summary>
/// The one way a request reaches the exchange: wait for a permit of the group, send, and fold the
/// answer back — into the limiter (its lease), the metrics, the burst-throttled failure log and,
/// when given, the clock-skew monitor. The candle pipeline and the pollers both send through it.
/// </summary>
public sealed class ExchangeAttempts(RateLimitGroup limiter, ScraperMetrics metrics, FailureLog failures, ClockSkewMonitor? clock = null)
{
    private int _inFlight;

    /// <summary>The group's name.</summary>
    public string Group => limiter.Name;

    /// <summary>Requests sent and not yet answered.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>
    /// One attempt: emits the response and completes; completes empty when the limiter is stopped
    /// before it grants. <paramref name="what"/> names the request in failure logs.
    /// </summary>
    public IObservable<ExchangeResponse<T>> Send<T>(Func<CancellationToken, Task<ExchangeResponse<T>>> request, string what, bool retry = false)
        where T : class =>
        limiter.Acquire()
            .Do(_ => (retry ? metrics.RequestRetry : metrics.RequestNew).WithLabels(limiter.Name).Inc())
            .SelectMany(lease => Observable.Defer(() =>
                {
                    Interlocked.Increment(ref _inFlight);
                    return Observable.FromAsync(request).Finally(() => Interlocked.Decrement(ref _inFlight));
                })
                .Do(response => Record(lease, response, what)));

    private void Record<T>(RateLimitLease lease, ExchangeResponse<T> response, string what)
        where T : class
    {
        var group = limiter.Name;
        clock?.Observe(response.Date);
        lease.Complete(response.Duration, response.Outcome, response.Remaining, response.BlockDuration);
        if (response.Remaining is { } remaining) metrics.RemainingRequests.WithLabels(group).Set(remaining.Second);

        var ok = response.Outcome == ExchangeOutcome.Success;
        metrics.RequestDuration.WithLabels(group, ok ? "success" : "failed").Observe(response.Duration.TotalSeconds);
        if (ok)
        {
            metrics.ResponseSuccess.WithLabels(group).Inc();
            failures.Success(group);
            return;
        }

        var reason = response.FailureReason ?? "unknown";
        metrics.ResponseFailed.WithLabels(group, reason).Inc();
        var level = Microsoft.Extensions.Logging.LogLevel.Warning;
        switch (response.Outcome)
        {
            case ExchangeOutcome.RateLimited:
                metrics.RateLimited.WithLabels(group).Inc();
                break;
            case ExchangeOutcome.Banned:
                metrics.Banned.WithLabels(group).Inc();
                level = Microsoft.Extensions.Logging.LogLevel.Error;
                break;
        }
        var status = response.StatusCode is { } code ? $"HTTP {code}" : "no response";
        failures.Failure(group, reason, level, $"{what}: {status} after {response.Duration.TotalMilliseconds:0} ms{(response.Detail is { } d ? ": " + d : "")}");
    }
}
