using System.Text;
using Scraper.Metrics;

namespace Scraper.Tests.Observability;

/// <summary>The counters the dashboard and the alerts read exist at 0 before their first event.</summary>
public class SeededSeriesTests
{
    private static async Task<string> ExportAsync(ScraperMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    [Theory]
    [InlineData("candles")]
    [InlineData("ticker")]
    [InlineData("accounts")]
    public async Task Response_failures_of_every_known_reason_show_0_before_the_first_failure(string group)
    {
        var text = await ExportAsync(new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test"));

        foreach (var reason in new[] { "timeout", "connection", "malformed_body", "body_too_large", "rate_limited", "banned", "http_500", "http_502", "http_503", "http_504" })
        {
            Assert.Contains($"upbit_quotation_response_failed_total{{group=\"{group}\",reason=\"{reason}\"}} 0\n", text, StringComparison.Ordinal);
        }
    }
}
