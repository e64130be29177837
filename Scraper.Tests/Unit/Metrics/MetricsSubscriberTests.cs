using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Exchange.Streaming;
using Scraper.Metrics;
using Scraper.Pipeline;

namespace Scraper.Tests.Metrics;

/// <summary>The subscriber turns pipeline events into the metrics the dashboard and the alerts read.</summary>
public class MetricsSubscriberTests
{
    private static readonly SeriesKey Btc = new("KRW-BTC", CandleUnit.FromMinutes(1));

    private static (MetricsSubscriber Subscriber, ScraperMetrics Metrics) Build()
    {
        var metrics = new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test");
        return (new MetricsSubscriber(metrics), metrics);
    }

    [Fact]
    public void A_429_counts_as_a_failed_response_a_rate_limit_and_a_failed_duration()
    {
        var (subscriber, metrics) = Build();

        subscriber.Report(new PipelineEvent.ResponseReceived("candles", ExchangeOutcome.RateLimited, "rate_limited", TimeSpan.FromMilliseconds(30), new RemainingRequests("candles", 0)));

        Assert.Equal(1, metrics.ResponseFailed.WithLabels("candles", "rate_limited").Value);
        Assert.Equal(1, metrics.RateLimited.WithLabels("candles").Value);
        Assert.Equal(0, metrics.ResponseSuccess.WithLabels("candles").Value);
        Assert.Equal(1, metrics.RequestDuration.WithLabels("candles", "failed").Count);
        Assert.Equal(0, metrics.RemainingRequests.WithLabels("candles").Value);
    }

    [Fact]
    public void The_newest_candle_never_moves_back_when_an_older_page_is_stored_later()
    {
        var (subscriber, metrics) = Build();
        var newer = new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero);

        subscriber.Report(new PipelineEvent.CandlesStored(Btc, 200, newer));
        subscriber.Report(new PipelineEvent.CandlesStored(Btc, 200, newer.AddHours(-5)));
        subscriber.Report(new PipelineEvent.CandlesStored(Btc, 0, null));

        Assert.Equal(newer.ToUnixTimeSeconds(), metrics.NewestCandle.WithLabels("KRW-BTC", "1").Value);
        Assert.Equal(400, metrics.CandlesStored.WithLabels("KRW-BTC", "1").Value);
    }

    [Fact]
    public void A_stream_ticker_sets_the_gauges_the_REST_ticker_sets()
    {
        var (subscriber, metrics) = Build();
        var polled = Build();
        var at = new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero);

        subscriber.StreamTicker(new StreamTicker(at, "KRW-BTC", 123456789.5m, at.ToUnixTimeMilliseconds() - 250));
        polled.Subscriber.Tickers([new Ticker("KRW-BTC", 123456789.5m, 1, 1, 1, 1, 0, 0, 0, at.ToUnixTimeMilliseconds() - 250)]);

        Assert.Equal(123456789.5, metrics.TickerPrice.WithLabels("KRW-BTC").Value);
        Assert.Equal(at.ToUnixTimeSeconds() - 0.25, metrics.TickerTimestamp.WithLabels("KRW-BTC").Value);
        Assert.Equal(polled.Metrics.TickerPrice.WithLabels("KRW-BTC").Value, metrics.TickerPrice.WithLabels("KRW-BTC").Value);
        Assert.Equal(polled.Metrics.TickerTimestamp.WithLabels("KRW-BTC").Value, metrics.TickerTimestamp.WithLabels("KRW-BTC").Value);
    }

    [Fact]
    public async Task A_complete_series_has_no_eta_and_the_candle_interval_is_one_series_per_unit()
    {
        var (subscriber, metrics) = Build();
        var eth = new SeriesKey("KRW-ETH", CandleUnit.FromMinutes(1));

        subscriber.Report(new PipelineEvent.SeriesPlanned(Btc));
        subscriber.Report(new PipelineEvent.SeriesPlanned(eth));
        subscriber.Report(new PipelineEvent.PassProgress(Btc, 0.5, 30));
        subscriber.Report(new PipelineEvent.PassProgress(eth, 0.5, 30));
        subscriber.Report(new PipelineEvent.PassProgress(Btc, 1, 0));
        using var text = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(text);
        var lines = System.Text.Encoding.UTF8.GetString(text.ToArray()).Split('\n');

        Assert.Equal(["scraper_backfill_eta_seconds{market=\"KRW-ETH\",unit=\"1\"} 30"], lines.Where(l => l.StartsWith("scraper_backfill_eta_seconds{", StringComparison.Ordinal)));
        Assert.Contains("scraper_backfill_progress_ratio{market=\"KRW-BTC\",unit=\"1\"} 1", lines);
        Assert.Equal(["scraper_candle_interval_seconds{unit=\"1\"} 60"], lines.Where(l => l.StartsWith("scraper_candle_interval_seconds{", StringComparison.Ordinal)));
    }
}
