using Microsoft.Reactive.Testing;
using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Metrics;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>Skipped windows are a burst like any other failure: one line when it starts, one when it ends, every one counted.</summary>
public class SkipBurstTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey Btc = new("KRW-BTC", CandleUnit.FromMinutes(1));

    private static List<CandleWindow> Windows(DateTimeOffset from, int count) =>
        WindowPlanner.Split(Btc, [new TimeRange(from, from + TimeSpan.FromMinutes(200 * count))]).ToList();

    [Fact]
    public void Thirty_windows_skipped_against_an_unreachable_exchange_log_one_line_then_one_summary_with_the_count()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        var reachableFrom = T0.AddMinutes(1);
        var client = new FunctionClient(_ => Task.FromResult(scheduler.Now < reachableFrom
            ? FunctionClient.Fail(ExchangeOutcome.Transient, null, "connection")
            : new ExchangeResponse<IReadOnlyList<Candle>>(ExchangeOutcome.Success,
                [new Candle("KRW-BTC", CandleUnit.FromMinutes(1), T0, "2025-01-01T09:00:00", 1m, 1m, 1m, 1m, 0, 1m, 1m)], 200, null, TimeSpan.FromMilliseconds(5))));
        var lines = new LogLines();
        var metrics = new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test");
        using var limiter = new RateLimitGroup("candles", new RateLimitOptions { RequestsPerWindow = 10 }, scheduler);
        var failures = new FailureLog(lines.For("Scraper.Exchange"), new SchedulerClock(scheduler));
        var pipeline = new CandleFetchPipeline(client, limiter, new RetryPolicy { MaxAttempts = 2 }, scheduler, new MetricsSubscriber(metrics), failures, lines.For<CandleFetchPipeline>());

        var results = new List<WindowResult>();
        using (pipeline.Fetch(Windows(T0.AddDays(-30), 30), maxInFlight: 64).Subscribe(results.Add))
        {
            scheduler.AdvanceBy(TimeSpan.FromSeconds(20).Ticks);
        }
        Assert.Equal(30, results.Count(r => !r.Fetched));
        Assert.Equal(30, metrics.WindowsSkipped.WithLabels("KRW-BTC", "1").Value);
        var during = lines.Containing("skipped").ToList();
        Assert.True(during.Count == 1, $"{during.Count} lines about skipped windows:\n" + string.Join("\n", during.Take(5)));

        // The exchange is back: the first success after the quiet spell closes the burst with its count.
        scheduler.AdvanceTo(reachableFrom.UtcTicks);
        using (pipeline.Fetch(Windows(T0.AddDays(-1), 1), maxInFlight: 64).Subscribe(results.Add))
        {
            scheduler.AdvanceBy(TimeSpan.FromSeconds(5).Ticks);
        }
        Assert.True(results[^1].Fetched);
        var all = lines.Containing("skipped").ToList();
        Assert.True(all.Count == 2, string.Join("\n", all));
        Assert.Contains("30 in all", all[1], StringComparison.Ordinal);
    }
}
