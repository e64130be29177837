using System.Reactive.Linq;
using Microsoft.Extensions.Logging;
using Scraper.Exchange;

namespace Scraper.Pipeline;

/// <summary>
/// The one way a request reaches the exchange: wait for a permit of the group, send, and fold the
/// answer back — into the limiter (its lease), the telemetry, the burst-throttled failure log and,
/// when given, the clock-skew monitor. The candle pipeline and the pollers both send through it.
/// </summary>
internal sealed class ExchangeAttempts(RateLimitGroup limiter, IPipelineTelemetry telemetry, FailureLog failures, ClockSkewMonitor? clock = null)
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
            .Do(_ => telemetry.Report(new PipelineEvent.AttemptSent(limiter.Name, retry)))
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
        lease.Complete(response.Duration, response.Outcome, response.Remaining, response.BlockDuration, response.Wire);
        telemetry.Report(new PipelineEvent.ResponseReceived(group, response.Outcome, response.FailureReason, response.Duration, response.Remaining));
        if (response.IsSuccess)
        {
            failures.Success(group);
            return;
        }

        var reason = response.FailureReason ?? "unknown";
        var level = response.Outcome == ExchangeOutcome.Banned ? LogLevel.Error : LogLevel.Warning;
        var status = response.StatusCode is { } code ? $"HTTP {code}" : "no response";
        failures.Failure(group, reason, level, $"{what}: {status} after {response.Duration.TotalMilliseconds:0} ms{(response.Detail is { } d ? ": " + d : "")}");
    }
}
