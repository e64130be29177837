using Microsoft.Reactive.Testing;
using Scraper.Exchange;
using Scraper.Metrics;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

public class QuotePollerTests
{
    [Fact]
    public void A_callback_that_throws_is_counted_and_logged_and_polling_goes_on()
    {
        var scheduler = new TestScheduler();
        var metrics = new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test");
        using var limiter = new RateLimitGroup("ticker", new RateLimitOptions { RequestsPerWindow = 10 }, scheduler);
        var lines = new LogLines();
        var applied = 0;
        var quote = new QuotePoller<IReadOnlyList<string>>(
            _ => throw new InvalidOperationException($"apply {++applied} failed"),
            limiter, TimeSpan.FromSeconds(1), scheduler, new MetricsSubscriber(metrics), new FailureLog(lines.For("Scraper.Exchange"), new SchedulerClock(scheduler)), "ticker");

        using (quote.Start(_ => Task.FromResult(new ExchangeResponse<IReadOnlyList<string>>(ExchangeOutcome.Success, ["x"], 200, null, TimeSpan.FromMilliseconds(1)))))
        {
            scheduler.AdvanceBy(TimeSpan.FromSeconds(5.5).Ticks);
        }

        Assert.Equal(6, applied);
        Assert.Equal(6, metrics.ResponseFailed.WithLabels("ticker", "apply_failed").Value);
        Assert.Contains("ticker: apply_failed: ticker: InvalidOperationException: apply 1 failed", lines.All[0].Message, StringComparison.Ordinal);
    }
}
