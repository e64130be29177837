using Microsoft.Extensions.Logging;
using Scraper.Exchange;
using Scraper.Metrics;

namespace Scraper.Pipeline;

/// <summary>
/// The side effects of every response, whatever endpoint it came from: request metrics, the
/// limiter's feedback (Remaining-Req, 429, 418), burst-throttled failure logs and, when a
/// <see cref="ClockSkewMonitor"/> is given, the exchange's clock.
/// </summary>
public static class ResponseObserver
{
    /// <summary>Records one response of <paramref name="limiter"/>'s group.</summary>
    public static void Record<T>(ScraperMetrics metrics, RateLimitGroup limiter, FailureLog failures,
        RateLimitLease lease, ExchangeResponse<T> response, string what, ClockSkewMonitor? clock = null)
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
        var level = LogLevel.Warning;
        switch (response.Outcome)
        {
            case ExchangeOutcome.RateLimited:
                metrics.RateLimited.WithLabels(group).Inc();
                break;
            case ExchangeOutcome.Banned:
                metrics.Banned.WithLabels(group).Inc();
                level = LogLevel.Error;
                break;
        }
        var status = response.StatusCode is { } code ? $"HTTP {code}" : "no response";
        failures.Failure(group, reason, level, $"{what}: {status} after {response.Duration.TotalMilliseconds:0} ms{(response.Detail is { } d ? ": " + d : "")}");
    }
}
