using System.Reactive.Linq;
using System.Reactive.Subjects;
using Microsoft.Reactive.Testing;
using Scraper.Exchange;
using Scraper.Exchange.Streaming;
using Scraper.Metrics;
using Scraper.Pipeline;
using Scraper.Pipeline.Live;

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

    [Fact]
    public void Gated_by_the_stream_the_ticker_sends_nothing_while_the_stream_delivers_every_market()
    {
        var scheduler = new TestScheduler();
        var metrics = new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test");
        using var limiter = new RateLimitGroup("ticker", new RateLimitOptions { RequestsPerWindow = 10 }, scheduler);
        var live = new Subject<LiveEvent>();
        var asked = new List<string>();
        var quote = new QuotePoller<IReadOnlyList<string>>(_ => { }, limiter, TimeSpan.FromSeconds(1), scheduler, new MetricsSubscriber(metrics),
            new FailureLog(new LogLines().For("Scraper.Exchange"), new SchedulerClock(scheduler)), "ticker");
        var requests = TickerGate.Due(["KRW-A", "KRW-B"], quote.Ticks, live, TimeSpan.FromSeconds(5), scheduler)
            .Select(markets => (Func<CancellationToken, Task<ExchangeResponse<IReadOnlyList<string>>>>)(_ =>
            {
                asked.Add(string.Join(',', markets));
                return Task.FromResult(new ExchangeResponse<IReadOnlyList<string>>(ExchangeOutcome.Success, markets, 200, null, TimeSpan.FromMilliseconds(1)));
            }));

        using (quote.Start(requests))
        {
            scheduler.AdvanceBy(TimeSpan.FromSeconds(2.5).Ticks); // before the first connection: ticks at 0, 1 and 2 s
            live.OnNext(new LiveModeChanged(true, "connected"));
            for (var s = 0; s < 10; s++)
            {
                foreach (var market in new[] { "KRW-A", "KRW-B" })
                    live.OnNext(new LiveStreamEvent(new StreamTicker(DateTimeOffset.UnixEpoch, market, 1m, 0)));
                scheduler.AdvanceBy(TimeSpan.FromSeconds(1).Ticks);
            }
            live.OnNext(new LiveModeChanged(false, "3 connection attempts failed"));
            scheduler.AdvanceBy(TimeSpan.FromSeconds(1).Ticks);
        }

        Assert.Equal(["KRW-A,KRW-B", "KRW-A,KRW-B", "KRW-A,KRW-B", "KRW-A,KRW-B"], asked);
    }
}
