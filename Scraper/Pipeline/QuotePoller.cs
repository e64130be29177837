using System.Reactive.Concurrency;
using System.Reactive.Linq;
using Microsoft.Extensions.Logging;
using Scraper.Exchange;

namespace Scraper.Pipeline;

/// <summary>
/// A quote fetched on a fixed period through its rate-limit group (the ticker for many markets in
/// one request, the account balances): each tick waits for a permit, sends one request and hands
/// the value to <c>apply</c>. A tick that comes while the last request is still running is dropped,
/// so a slow exchange never builds a backlog; a failure is reported and the next tick tries again.
/// The ticks may be gated: a caller turns <see cref="Ticks"/> into the requests it wants sent.
/// </summary>
internal sealed class QuotePoller<T>(
    Action<T> apply,
    RateLimitGroup limiter,
    TimeSpan period,
    IScheduler scheduler,
    IPipelineTelemetry telemetry,
    FailureLog failures,
    string what)
    where T : class
{
    private readonly ExchangeAttempts _attempts = new(limiter, telemetry, failures);
    private int _busy;

    /// <summary>One tick per period, the first at once.</summary>
    public IObservable<long> Ticks => Observable.Interval(period, scheduler).StartWith(-1);

    /// <summary>Sends <paramref name="fetch"/> on every tick; dispose to stop.</summary>
    public IDisposable Start(Func<CancellationToken, Task<ExchangeResponse<T>>> fetch) => Start(Ticks.Select(_ => fetch));

    /// <summary>Sends each request of <paramref name="requests"/> (unless the last one still runs); dispose to stop.</summary>
    public IDisposable Start(IObservable<Func<CancellationToken, Task<ExchangeResponse<T>>>> requests) =>
        requests
            .Where(_ => Interlocked.CompareExchange(ref _busy, 1, 0) == 0)
            .SelectMany(fetch => FetchOnce(fetch).Finally(() => Volatile.Write(ref _busy, 0)))
            .Subscribe(Apply, onError: e => failures.Failure(limiter.Name, "polling_stopped", LogLevel.Critical,
                $"{what} polling stopped: {e.GetType().Name}: {e.Message}; the rest of the daemon goes on"));

    /// <summary>A value that cannot be applied is logged and counted; the next tick tries again.</summary>
    private void Apply(T value)
    {
        try
        {
            apply(value);
        }
#pragma warning disable CA1031 // whatever the callback throws must not end the polling, let alone the process
        catch (Exception e)
#pragma warning restore CA1031
        {
            telemetry.Report(new PipelineEvent.ApplyFailed(limiter.Name));
            failures.Failure(limiter.Name, "apply_failed", LogLevel.Error, $"{what}: {e.GetType().Name}: {e.Message}");
        }
    }

    private IObservable<T> FetchOnce(Func<CancellationToken, Task<ExchangeResponse<T>>> fetch) =>
        _attempts.Send(fetch, what)
            .Where(response => response.IsSuccess && response.Value is not null)
            .Select(response => response.Value!)
            .Catch((OperationCanceledException _) => Observable.Empty<T>());
}
