using System.Reactive.Concurrency;
using System.Text;
using Microsoft.Reactive.Testing;
using Scraper.Metrics;
using Scraper.Pipeline;
using Scraper.Tests.Pipeline;

namespace Scraper.Tests.Metrics;

/// <summary>The limiter's gauges, read at a scrape, after a group ran in virtual time against a simulated exchange.</summary>
public class RateLimiterMetricsTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The lines of the limiter gauges in a scrape after 100 requests at 20 ms.</summary>
    private static async Task<string[]> ScrapeAfterRun(DateTimeOffset? bucketEdge)
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        using var group = new RateLimitGroup("candles", new RateLimitOptions(), scheduler);
        var exchange = new SimulatedExchange(scheduler) { BucketEdge = bucketEdge };
        for (var i = 0; i < 100; i++) group.Acquire().Subscribe(lease => exchange.Send(lease, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10)));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(15).Ticks);
        var metrics = new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test");
        new MetricsSubscriber(metrics).Watch([group]);

        using var text = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(text);
        return [.. Encoding.UTF8.GetString(text.ToArray()).Split('\n').Where(l => l.StartsWith("upbit_rate_limiter_", StringComparison.Ordinal))];
    }

    private static double Value(string[] lines, string series) =>
        double.Parse(Assert.Single(lines, l => l.StartsWith(series + " ", StringComparison.Ordinal))[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_learnt_fixed_bucket_edge_is_published_with_its_uncertainty()
    {
        var lines = await ScrapeAfterRun(T0.AddMilliseconds(137));

        Assert.Equal(1, Value(lines, "upbit_rate_limiter_bucket_edge_known{group=\"candles\"}"));
        // Narrower than the window it was unknown in (the interval between two answers' evidence).
        Assert.InRange(Value(lines, "upbit_rate_limiter_bucket_edge_uncertainty_seconds{group=\"candles\"}"), 0.0001, 0.99);
    }

    [Fact]
    public async Task A_sliding_window_publishes_no_edge_and_the_whole_window_as_uncertainty()
    {
        var lines = await ScrapeAfterRun(bucketEdge: null);

        Assert.Equal(0, Value(lines, "upbit_rate_limiter_bucket_edge_known{group=\"candles\"}"));
        Assert.Equal(1, Value(lines, "upbit_rate_limiter_bucket_edge_uncertainty_seconds{group=\"candles\"}"));
    }
}
