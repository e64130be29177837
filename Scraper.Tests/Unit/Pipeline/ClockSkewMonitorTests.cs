using Microsoft.Extensions.Logging;
using Scraper.Exchange;
using Scraper.Metrics;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

public class ClockSkewMonitorTests
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 2, 12, 0, 0, TimeSpan.Zero);

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }

    /// <summary>A response whose Date header says <paramref name="exchange"/> while this host's clock read <paramref name="local"/>.</summary>
    private static ExchangeDate Reading(DateTimeOffset local, DateTimeOffset exchange) => new(exchange, local);

    [Fact]
    public void The_skew_is_exported_and_a_host_ahead_warned_about_once_then_once_more_when_it_is_back()
    {
        var metrics = new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test");
        var logger = new ListLogger();
        var monitor = new ClockSkewMonitor(new MetricsSubscriber(metrics), logger);

        monitor.Observe(Reading(Noon.AddMilliseconds(700), Noon));            // in sync: 0.2 s
        Assert.Equal(0.2, metrics.ClockSkew.Value, 3);
        for (var i = 0; i < 20; i++) monitor.Observe(Reading(Noon.AddMinutes(10).AddSeconds(i), Noon.AddSeconds(i)));
        Assert.Equal(599.5, metrics.ClockSkew.Value, 3);
        monitor.Observe(Reading(Noon.AddSeconds(4), Noon));                   // 3.5 s: not yet back
        monitor.Observe(Reading(Noon.AddMilliseconds(300), Noon));            // corrected
        monitor.Observe(Reading(Noon.AddSeconds(-30), Noon));                 // now behind

        Assert.Equal(
        [
            (LogLevel.Warning, "this host's clock is 599.5 s ahead of the exchange's"),
            (LogLevel.Information, "this host's clock agrees with the exchange's again (-0.2 s)"),
            (LogLevel.Warning, "this host's clock is 30.5 s behind the exchange's"),
        ], logger.Lines.Select(l => (l.Level, l.Message.Split(" (its Date")[0])));
        Assert.Equal(-30.5, metrics.ClockSkew.Value, 3);
    }

    [Fact]
    public async Task Without_a_Date_header_nothing_is_exported()
    {
        var metrics = new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test");
        var monitor = new ClockSkewMonitor(new MetricsSubscriber(metrics), new ListLogger());

        monitor.Observe(null);

        using var text = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(text);
        Assert.DoesNotContain("\nupbit_clock_skew_seconds ", System.Text.Encoding.UTF8.GetString(text.ToArray()), StringComparison.Ordinal);
    }
}
