using Prometheus;
using Scraper.Domain;
using Scraper.Exchange.Streaming;
using Scraper.Hosting;
using Scraper.Metrics;
using Scraper.Pipeline.Live;

namespace Scraper.Tests.Metrics;

/// <summary>The live follower's events as the metrics subscriber turns them into samples (a fresh registry per test).</summary>
public sealed class StreamMetricsTests
{
    private static readonly DateTimeOffset At = new(2025, 1, 1, 0, 1, 0, 500, TimeSpan.Zero);
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly StreamMetrics _metrics;

    public StreamMetricsTests() => _metrics = new StreamMetrics(_registry);

    private async Task<string> ScrapeAsync()
    {
        using var stream = new MemoryStream();
        await _registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private void Publish(params LiveEvent[] events)
    {
        foreach (var e in events) LiveWiring.Publish(_metrics, e);
    }

    [Fact]
    public async Task Connections_disconnects_by_reason_and_the_fallback_state_are_counted()
    {
        Publish(
            new LiveStreamEvent(new StreamConnected(At, 0, 8)),
            new LiveStreamEvent(new StreamDisconnected(At, 0, "dead", "nothing received", true, TimeSpan.FromSeconds(1))),
            new LiveStreamEvent(new StreamDisconnected(At, 0, "refused", "HTTP 503", false, TimeSpan.FromSeconds(2))),
            new LiveModeChanged(false, "3 attempts failed"));
        var text = await ScrapeAsync();
        Assert.Contains("scraper_stream_connects_total 1", text, StringComparison.Ordinal);
        Assert.Contains("scraper_stream_connections 0", text, StringComparison.Ordinal);
        Assert.Contains("scraper_stream_disconnects_total{reason=\"dead\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("scraper_stream_disconnects_total{reason=\"refused\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("scraper_live_fallback 1", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Messages_by_type_their_age_the_lag_of_a_series_and_what_reconciliation_found()
    {
        var candle = new Candle("KRW-BTC", CandleUnit.FromMinutes(1), At.AddSeconds(-60.5), "k", 1, 1, 1, 1, At.AddSeconds(-2).ToUnixTimeMilliseconds(), 1, 1);
        var btc = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(1));
        Publish(
            new LiveStreamEvent(new StreamCandle(At, candle, false)),
            new LiveStreamEvent(new StreamMalformed(At, "not JSON")),
            new LiveStored(btc, 1, TimeSpan.FromSeconds(0.7)),
            new LiveReconcileStarted(4, "reconcile"),
            new LiveReconciled(btc, 3));
        var text = await ScrapeAsync();
        Assert.Contains("scraper_stream_messages_total{type=\"candle\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("scraper_stream_messages_total{type=\"malformed\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("scraper_stream_message_age_seconds_bucket{le=\"1\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("scraper_stream_message_age_seconds_bucket{le=\"2\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("scraper_live_series_lag_seconds{market=\"KRW-BTC\",unit=\"1\"} 0.7", text, StringComparison.Ordinal);
        Assert.Contains("scraper_live_lag_seconds_bucket{le=\"1\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("scraper_live_reconcile_passes_total{reason=\"reconcile\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("scraper_live_reconcile_missing_candles_total{market=\"KRW-BTC\",unit=\"1\"} 3", text, StringComparison.Ordinal);
    }
}
