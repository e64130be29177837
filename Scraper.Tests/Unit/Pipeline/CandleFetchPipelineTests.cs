using System.Collections.Concurrent;
using System.Reactive.Linq;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Reactive.Testing;
using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Metrics;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

public class CandleFetchPipelineTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey Btc = new("KRW-BTC", CandleUnit.FromMinutes(1));

    /// <summary>A scripted exchange for virtual-time tests: answers by attempt number of each window.</summary>
    private sealed class ScriptedClient(TestScheduler scheduler, Func<CandleQuery, int, ExchangeResponse<IReadOnlyList<Candle>>> answer) : IUpbitClient
    {
        private readonly ConcurrentDictionary<DateTimeOffset, int> _attempts = new();
        public List<(DateTimeOffset At, CandleQuery Query)> Sent { get; } = [];

        public Task<ExchangeResponse<IReadOnlyList<Candle>>> GetCandlesAsync(CandleQuery query, CancellationToken cancellationToken)
        {
            Sent.Add((scheduler.Now, query));
            var attempt = _attempts.AddOrUpdate(query.To, 1, (_, n) => n + 1);
            return Task.FromResult(answer(query, attempt));
        }

        public Task<ExchangeResponse<IReadOnlyList<Ticker>>> GetTickersAsync(IReadOnlyList<string> markets, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<ExchangeResponse<IReadOnlyList<Account>>> GetAccountsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<ExchangeResponse<IReadOnlyList<string>>> GetMarketsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private static readonly Candle OneCandle = new("KRW-BTC", CandleUnit.FromMinutes(1), T0, "2025-01-01T09:00:00", 1m, 1m, 1m, 1m, 0, 1m, 1m);

    private static ExchangeResponse<IReadOnlyList<Candle>> Ok() => new(ExchangeOutcome.Success, new[] { OneCandle }, 200, null, TimeSpan.FromMilliseconds(5));
    private static ExchangeResponse<IReadOnlyList<Candle>> Empty() => new(ExchangeOutcome.Success, Array.Empty<Candle>(), 200, null, TimeSpan.FromMilliseconds(5));
    private static ExchangeResponse<IReadOnlyList<Candle>> Fail(ExchangeOutcome outcome, int status, string reason) => new(outcome, null, status, null, TimeSpan.FromMilliseconds(5), reason);

    private static (CandleFetchPipeline Pipeline, ScraperMetrics Metrics, RateLimitGroup Limiter) Build(TestScheduler scheduler, IUpbitClient client, int maxAttempts = 8)
    {
        var metrics = new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test");
        var limiter = new RateLimitGroup("candles", new RateLimitOptions { RequestsPerWindow = 10 }, scheduler);
        var failures = new FailureLog(NullLogger.Instance, TimeProvider.System);
        var pipeline = new CandleFetchPipeline(client, limiter, new RetryPolicy { MaxAttempts = maxAttempts }, scheduler, new MetricsSubscriber(metrics), failures, NullLogger<CandleFetchPipeline>.Instance);
        return (pipeline, metrics, limiter);
    }

    private static List<CandleWindow> Windows(int count) =>
        WindowPlanner.Split(Btc, [new TimeRange(T0, T0 + TimeSpan.FromMinutes(200 * count))]).ToList();

    private static TestScheduler NewScheduler()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        return scheduler;
    }

    [Fact]
    public void Retries_spend_from_the_same_budget_as_first_attempts()
    {
        var scheduler = NewScheduler();
        var client = new ScriptedClient(scheduler, (_, attempt) => attempt == 1 ? Fail(ExchangeOutcome.Transient, 503, "http_503") : Ok());
        var (pipeline, metrics, limiter) = Build(scheduler, client);
        var results = new List<WindowResult>();

        using var _ = pipeline.Fetch(Windows(30), maxInFlight: 64).Subscribe(results.Add);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(30).Ticks);

        Assert.Equal(30, results.Count);
        Assert.All(results, r => Assert.True(r.Fetched));
        Assert.Equal(60, client.Sent.Count);
        Assert.True(RateLimitGroupTests.MaxInAnyWindow(client.Sent.Select(s => s.At).ToList(), TimeSpan.FromSeconds(1)) <= 10);
        Assert.Equal(30, metrics.RequestNew.WithLabels("candles").Value);
        Assert.Equal(30, metrics.RequestRetry.WithLabels("candles").Value);
        Assert.Equal(30, metrics.ResponseFailed.WithLabels("candles", "http_503").Value);
        limiter.Dispose();
    }

    [Fact]
    public void A_permanent_error_skips_the_window_without_stopping_the_stream()
    {
        var scheduler = NewScheduler();
        var windows = Windows(5);
        var bad = windows[2].End;
        var client = new ScriptedClient(scheduler, (q, _) => q.To == bad ? Fail(ExchangeOutcome.Permanent, 400, "http_400") : Ok());
        var (pipeline, metrics, _) = Build(scheduler, client);
        var results = new List<WindowResult>();
        var completed = false;

        using var _ = pipeline.Fetch(windows, 64).Subscribe(results.Add, () => completed = true);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(5).Ticks);

        Assert.True(completed);
        Assert.Equal(5, results.Count);
        var skipped = Assert.Single(results, r => !r.Fetched);
        Assert.Equal(bad, skipped.Window.End);
        Assert.Equal(1, skipped.Attempts);
        Assert.Equal(1, metrics.WindowsSkipped.WithLabels("KRW-BTC", "1").Value);
        Assert.Equal(5, client.Sent.Count);
    }

    [Fact]
    public void Transient_failures_back_off_exponentially_then_give_up()
    {
        var scheduler = NewScheduler();
        var client = new ScriptedClient(scheduler, (_, _) => Fail(ExchangeOutcome.Transient, 0, "timeout"));
        var (pipeline, _, _) = Build(scheduler, client, maxAttempts: 4);
        var results = new List<WindowResult>();

        using var _ = pipeline.Fetch(Windows(1), 64).Subscribe(results.Add);
        scheduler.AdvanceBy(TimeSpan.FromMinutes(1).Ticks);

        var result = Assert.Single(results);
        Assert.False(result.Fetched);
        Assert.Equal(4, result.Attempts);
        var gaps = client.Sent.Zip(client.Sent.Skip(1), (a, b) => (long)Math.Floor((b.At - a.At).TotalMilliseconds)).ToList();
        Assert.Equal([250L, 500L, 1000L], gaps);
    }

    [Fact]
    public void A_429_is_retried_after_the_pause_without_counting_toward_giving_up()
    {
        var scheduler = NewScheduler();
        var client = new ScriptedClient(scheduler, (_, attempt) => attempt <= 5 ? Fail(ExchangeOutcome.RateLimited, 429, "rate_limited") : Ok());
        var (pipeline, metrics, _) = Build(scheduler, client, maxAttempts: 2);
        var results = new List<WindowResult>();

        using var _ = pipeline.Fetch(Windows(1), 64).Subscribe(results.Add);
        scheduler.AdvanceBy(TimeSpan.FromMinutes(1).Ticks);

        Assert.True(Assert.Single(results).Fetched);
        Assert.Equal(6, client.Sent.Count);
        Assert.Equal(5, metrics.RateLimited.WithLabels("candles").Value);
        var gaps = client.Sent.Zip(client.Sent.Skip(1), (a, b) => b.At - a.At);
        Assert.All(gaps, g => Assert.True(g >= TimeSpan.FromSeconds(1), $"retry after only {g}"));
    }

    [Fact]
    public void After_stop_no_new_attempt_starts()
    {
        var scheduler = NewScheduler();
        var client = new ScriptedClient(scheduler, (_, _) => Ok());
        var (pipeline, _, limiter) = Build(scheduler, client);
        var results = new List<WindowResult>();
        var completed = false;

        using var _ = pipeline.Fetch(Windows(25), 64).Subscribe(results.Add, () => completed = true);
        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(1100).Ticks);
        limiter.Stop();
        scheduler.AdvanceBy(TimeSpan.FromSeconds(10).Ticks);

        Assert.True(completed);
        Assert.Equal(20, client.Sent.Count);
        Assert.Equal(20, results.Count);
    }

    [Fact]
    public void An_empty_page_is_asked_once_more_before_it_counts()
    {
        var scheduler = NewScheduler();
        var windows = Windows(2);
        var client = new ScriptedClient(scheduler, (q, attempt) => q.To == windows[0].End ? (attempt == 1 ? Empty() : Ok()) : Empty());
        var (pipeline, _, _) = Build(scheduler, client);
        var results = new List<WindowResult>();

        using var _ = pipeline.Fetch(windows, 64).Subscribe(results.Add);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(5).Ticks);

        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.True(r.Fetched));
        Assert.Single(results.Single(r => r.Window == windows[0]).Candles);   // the hiccup was healed
        Assert.Empty(results.Single(r => r.Window == windows[1]).Candles);    // empty twice: truly empty
        Assert.Equal(4, client.Sent.Count);
    }
}
