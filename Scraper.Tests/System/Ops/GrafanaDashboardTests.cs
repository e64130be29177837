using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Ops;

/// <summary>grafana/: the provisioned datasource, the dashboard provider and the dashboard JSON.</summary>
[SupportedOSPlatform("linux")]
public sealed partial class GrafanaDashboardTests
{
    /// <summary>Metrics that carry a market label: their panels must follow the $market selection.</summary>
    private static readonly string[] MarketMetrics =
    [
        "upbit_ticker_trade_price", "upbit_ticker_timestamp_seconds", "scraper_backfill_progress_ratio",
        "scraper_backfill_eta_seconds", "scraper_backfill_windows_skipped_total", "scraper_candles_stored_total",
        "scraper_newest_candle_timestamp_seconds", "scraper_covered_until_timestamp_seconds",
        "scraper_following",
    ];

    private static string DashboardPath => RepoPaths.Combine("grafana", "dashboards", "bitcoin-price-scraper.json");

    private static JsonDocument LoadDashboard() => JsonDocument.Parse(File.ReadAllText(DashboardPath));

    private static List<(string Panel, string RefId, string Expr)> Queries(JsonDocument dashboard) =>
        dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray().Select(target => (
                Panel: panel.GetProperty("title").GetString()!,
                RefId: target.GetProperty("refId").GetString()!,
                Expr: target.TryGetProperty("expr", out var expr) ? expr.GetString() ?? "" : "")))
            .ToList();

    [Fact]
    public void Dashboard_HasTheInstanceAndMarketVariables()
    {
        using var dashboard = LoadDashboard();
        var variables = dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
            .ToDictionary(v => v.GetProperty("name").GetString()!, StringComparer.Ordinal);

        var instance = variables["instance"];
        Assert.Equal("query", instance.GetProperty("type").GetString());
        Assert.Equal("label_values(up{job=\"bitcoin-price-scraper\"}, instance)", instance.GetProperty("query").GetString());
        var market = variables["market"];
        Assert.Equal("label_values(upbit_ticker_trade_price, market)", market.GetProperty("query").GetString());
        Assert.True(market.GetProperty("multi").GetBoolean());
        Assert.True(market.GetProperty("includeAll").GetBoolean());
        Assert.All(variables.Values, v => Assert.Equal("prometheus", v.GetProperty("datasource").GetProperty("uid").GetString()));
    }

    [Fact]
    public void Dashboard_HasAtLeastTenPanels_EachWithAPrometheusQuery()
    {
        using var dashboard = LoadDashboard();
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray().ToList();

        Assert.True(panels.Count >= 10, $"{panels.Count} panels");
        Assert.All(panels, panel =>
        {
            var title = panel.GetProperty("title").GetString();
            Assert.Equal("prometheus", panel.GetProperty("datasource").GetProperty("uid").GetString());
            var exprs = panel.GetProperty("targets").EnumerateArray()
                .Select(t => t.TryGetProperty("expr", out var e) ? e.GetString() : null)
                .ToList();
            Assert.True(exprs.Count > 0 && exprs.All(e => !string.IsNullOrWhiteSpace(e)), $"panel '{title}' has a target without expr");
        });
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
    }

    [Theory]
    [InlineData("upbit_ticker_trade_price")]
    [InlineData("upbit_quotation_request_new_total")]
    [InlineData("upbit_quotation_request_retry_total")]
    [InlineData("upbit_request_duration_seconds_bucket")]
    [InlineData("upbit_quotation_response_success_total")]
    [InlineData("upbit_quotation_response_failed_total")]
    [InlineData("scraper_backfill_progress_ratio")]
    [InlineData("scraper_backfill_eta_seconds")]
    [InlineData("upbit_remaining_requests")]
    [InlineData("upbit_rate_limited_total")]
    [InlineData("upbit_banned_total")]
    [InlineData("upbit_rate_limiter_bucket_edge_known")]
    [InlineData("scraper_candles_stored_total")]
    [InlineData("scraper_newest_candle_timestamp_seconds")]
    [InlineData("scraper_covered_until_timestamp_seconds")]
    [InlineData("process_cpu_seconds_total")]
    [InlineData("process_working_set_bytes")]
    [InlineData("scraper_stream_connections")]
    [InlineData("scraper_live_fallback")]
    [InlineData("scraper_live_lag_seconds_bucket")]
    [InlineData("scraper_stream_disconnects_total")]
    public void Dashboard_ShowsMetric(string metric)
    {
        using var dashboard = LoadDashboard();

        Assert.Contains(Queries(dashboard), q => Regex.IsMatch(q.Expr, $@"\b{metric}\{{"));
    }

    [Fact]
    public void Dashboard_DurationPanelShowsP50P95P99ByOutcome()
    {
        using var dashboard = LoadDashboard();
        var durations = Queries(dashboard).Where(q => q.Expr.Contains("upbit_request_duration_seconds_bucket", StringComparison.Ordinal)).ToList();

        foreach (var quantile in new[] { "0.5", "0.95", "0.99" })
        {
            Assert.Contains(durations, q => q.Expr.StartsWith($"histogram_quantile({quantile}, sum by (le, outcome)", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void EveryQuery_FollowsTheInstanceVariable_AndMarketWhereTheMetricHasMarkets()
    {
        using var dashboard = LoadDashboard();

        Assert.All(Queries(dashboard), q =>
        {
            var selectors = SelectorPattern().Matches(q.Expr);
            Assert.True(selectors.Count > 0, $"'{q.Panel}' {q.RefId}: no metric selector in {q.Expr}");
            foreach (Match selector in selectors)
            {
                var labels = selector.Groups["labels"].Value;
                Assert.True(labels.Contains("instance=~\"$instance\"", StringComparison.Ordinal), $"'{q.Panel}' {q.RefId}: {selector.Value} ignores $instance");
                if (MarketMetrics.Contains(selector.Groups["metric"].Value))
                {
                    Assert.True(labels.Contains("market=~\"$market\"", StringComparison.Ordinal), $"'{q.Panel}' {q.RefId}: {selector.Value} ignores $market");
                }
            }
        });
    }

    [SystemFact("promtool")]
    public async Task EveryQuery_IsValidPromQL()
    {
        using var dashboard = LoadDashboard();
        var queries = Queries(dashboard);
        using var temp = new TempDirectory();
        var rulesFile = temp.Combine("dashboard-queries.yml");
        File.WriteAllText(rulesFile, RecordingRules(queries.Select(q => (Name: $"{q.Panel} {q.RefId}", q.Expr))));

        var result = await ToolRunner.RunAsync("promtool", "check", "rules", rulesFile);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"SUCCESS: {queries.Count} rules found", result.StdOut, StringComparison.Ordinal);
    }

    [SystemFact("promtool")]
    public async Task PromQLCheck_RejectsABrokenQuery()
    {
        // Guards the check above: promtool must really parse the recording rules' expressions.
        using var temp = new TempDirectory();
        var rulesFile = temp.Combine("broken.yml");
        File.WriteAllText(rulesFile, RecordingRules([("broken", "sum by (group) (rate(upbit_banned_total{instance=~\"$instance\"}[$__rate_interval])")]));

        var result = await ToolRunner.RunAsync("promtool", "check", "rules", rulesFile);

        Assert.NotEqual(0, result.ExitCode);
    }

    [Fact]
    public void Provisioning_DatasourceHasUidPrometheus()
    {
        var datasource = File.ReadAllText(RepoPaths.Combine("grafana", "provisioning", "datasources", "prometheus.yml"));

        Assert.Matches(@"(?m)^\s*uid:\s*prometheus\s*$", datasource);
        Assert.Matches(@"(?m)^\s*type:\s*prometheus\s*$", datasource);
    }

    [Fact]
    public void Provisioning_DashboardProviderLoadsTheInstalledDashboardsFolder()
    {
        var provider = File.ReadAllText(RepoPaths.Combine("grafana", "provisioning", "dashboards", "bitcoin-price-scraper.yml"));

        Assert.Matches(@"(?m)^\s*type:\s*file\s*$", provider);
        // install.sh copies grafana/ to $PREFIX/share/grafana and rewrites this path for another PREFIX.
        Assert.Matches(@"(?m)^\s*path:\s*/opt/bitcoin-price-scraper/share/grafana/dashboards\s*$", provider);
    }

    /// <summary>
    /// Turns queries into a recording-rules file for `promtool check rules`, with Grafana's
    /// variables replaced by values Prometheus accepts. Strings are written JSON-quoted, which
    /// is valid YAML.
    /// </summary>
    internal static string RecordingRules(IEnumerable<(string Name, string Expr)> queries)
    {
        var yaml = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        var index = 0;
        foreach (var (name, expr) in queries)
        {
            var concrete = expr
                .Replace("$__rate_interval", "1m", StringComparison.Ordinal)
                .Replace("$__interval", "1m", StringComparison.Ordinal)
                .Replace("$__range", "1h", StringComparison.Ordinal)
                .Replace("$instance", "localhost:8081", StringComparison.Ordinal)
                .Replace("$market", "KRW-BTC|KRW-ETH", StringComparison.Ordinal);
            Assert.False(concrete.Contains('$', StringComparison.Ordinal), $"{name}: unknown variable in {expr}");
            yaml.Append("      # ").Append(name.ReplaceLineEndings(" ")).Append('\n')
                .Append("      - record: dashboard:query_").Append(index++).Append('\n')
                .Append("        expr: ").Append(JsonSerializer.Serialize(concrete)).Append('\n');
        }

        return yaml.ToString();
    }

    [GeneratedRegex(@"(?<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?<labels>[^}]*)\}")]
    private static partial Regex SelectorPattern();
}
