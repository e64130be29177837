using Microsoft.Extensions.Time.Testing;
using Microsoft.Reactive.Testing;
using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Metrics;
using Scraper.Pipeline;
using Scraper.Storage.Sqlite;

namespace Scraper.Tests.Pipeline;

/// <summary>
/// A stop ends the pass at once when nothing is in flight (retry back-off timers are cancelled,
/// not waited out) and the shutdown message says only what is true. Both clocks are virtual: the
/// pass can only end by itself, never because time went by.
/// </summary>
public sealed class StopTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey Btc = new("KRW-BTC", CandleUnit.FromMinutes(1));
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private (CandleCollector Collector, SqliteCandleStore Store, RateLimitGroup Limiter) Build(TestScheduler scheduler, FakeTimeProvider time, IUpbitClient client, LogLines lines, TimeSpan history)
    {
        var metrics = new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test");
        var store = SqliteCandleStore.Open(_dir.Combine("candles.db"), time);
        var limiter = new RateLimitGroup("candles", new RateLimitOptions { RequestsPerWindow = 10 }, scheduler);
        var failures = new FailureLog(lines.For("Scraper.Exchange"), time);
        var pipeline = new CandleFetchPipeline(client, limiter, new RetryPolicy(), scheduler, new MetricsSubscriber(metrics), failures, lines.For<CandleFetchPipeline>());
        var writer = new CandleResultWriter(store, new MetricsSubscriber(metrics), time, lines.For<CandleResultWriter>());
        var collector = new CandleCollector([Btc], T0 - history, store, pipeline, limiter, writer, new MetricsSubscriber(metrics), time, scheduler, lines.For<CandleCollector>());
        return (collector, store, limiter);
    }

    /// <summary>Lets thread-pool continuations run; the clocks do not move.</summary>
    private static async Task<bool> EndsWithoutTimePassingAsync(Task pass) =>
        await Task.WhenAny(pass, Task.Delay(TimeSpan.FromSeconds(10))) == pass;

    [Fact]
    public async Task A_stop_during_a_5xx_storm_cancels_the_back_off_timers_and_reports_no_abandoned_response()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        var time = new FakeTimeProvider(T0);
        var client = new FunctionClient(_ => Task.FromResult(FunctionClient.Fail(ExchangeOutcome.Transient, 503, "http_503")));
        var lines = new LogLines();
        var (collector, store, limiter) = Build(scheduler, time, client, lines, TimeSpan.FromHours(10)); // 3 windows
        using var _ = store;
        using var __ = limiter;
        using var stop = new CancellationTokenSource();

        var pass = collector.RunPassAsync(DateTimeOffset.MaxValue, null, logProgress: true, stop.Token);
        // Back-offs of 0.25, 0.5, 1, 2 and 4 s: after 10 s each window has failed six times and
        // waits out the next back-off of 8 s, longer than the shutdown grace.
        scheduler.AdvanceBy(TimeSpan.FromSeconds(10).Ticks);
        Assert.Equal(3 * 6, client.Sent);
        Assert.False(pass.IsCompleted);
        await stop.CancelAsync();

        Assert.True(await EndsWithoutTimePassingAsync(pass), "the pass waits out the retry back-off after the stop");
        Assert.True((await pass).Stopped);
        Assert.Empty(lines.Containing("abandoned"));
        Assert.Empty(lines.Containing("in flight"));
    }

    [Fact]
    public async Task A_response_really_in_flight_at_the_stop_is_waited_for_and_then_named_as_abandoned_with_the_count()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        var time = new FakeTimeProvider(T0);
        var never = new TaskCompletionSource<ExchangeResponse<IReadOnlyList<Candle>>>();
        var client = new FunctionClient(_ => never.Task);
        var lines = new LogLines();
        var (collector, store, limiter) = Build(scheduler, time, client, lines, TimeSpan.FromDays(10));
        using var _ = store;
        using var __ = limiter;
        using var stop = new CancellationTokenSource();

        var pass = collector.RunPassAsync(DateTimeOffset.MaxValue, null, logProgress: true, stop.Token);
        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(100).Ticks); // the first slice is sent and never answered
        var sent = client.Sent;
        Assert.InRange(sent, 1, 10);
        await stop.CancelAsync();

        Assert.False(await Task.WhenAny(pass, Task.Delay(TimeSpan.FromMilliseconds(300))) == pass, "the pass did not wait for the response in flight");
        var waited = TimeSpan.Zero;
        while (!pass.IsCompleted && waited < TimeSpan.FromMinutes(1))
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            waited += TimeSpan.FromMilliseconds(100);
            await Task.WhenAny(pass, Task.Delay(20));
        }
        Assert.True(pass.IsCompleted);
        Assert.InRange(waited, CandleCollector.ShutdownGrace, CandleCollector.ShutdownGrace + TimeSpan.FromSeconds(1));
        var line = Assert.Single(lines.Containing("abandoned"));
        Assert.Contains($"{sent} requests still in flight", line, StringComparison.Ordinal);
    }
}
