using System.Diagnostics;
using System.Text.Json;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Xunit.Abstractions;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Observability;

/// <summary>
/// Grafana cannot run here, so the dashboard is proven against the real thing around it: the real
/// Prometheus (Debian's package) scrapes the real daemon, with the repository's own prometheus.yml
/// and alert rules, and every panel query of the dashboard must return data through Prometheus's
/// HTTP API; every alert rule must evaluate without error.
/// </summary>
public sealed class DashboardQueriesTests(ITestOutputHelper output) : FakeExchangeTest
{
    /// <summary>Every panel target's expression, with the panel's title.</summary>
    internal static IReadOnlyList<(string Panel, string Expr)> DashboardQueries(string dashboardPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(dashboardPath));
        var queries = new List<(string, string)>();
        void Walk(JsonElement panels)
        {
            foreach (var p in panels.EnumerateArray())
            {
                if (p.TryGetProperty("targets", out var targets))
                {
                    foreach (var t in targets.EnumerateArray())
                    {
                        if (t.TryGetProperty("expr", out var e) && e.GetString() is { Length: > 0 } expr)
                            queries.Add((p.GetProperty("title").GetString() ?? "?", expr));
                    }
                }
                if (p.TryGetProperty("panels", out var inner)) Walk(inner);
            }
        }
        Walk(doc.RootElement.GetProperty("panels"));
        return queries;
    }

    private static async Task<JsonElement> QueryAsync(HttpClient http, int port, string path)
    {
        var json = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}{path}"));
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    [SystemFact("prometheus", "promtool")]
    public async Task Every_dashboard_query_returns_data_from_a_prometheus_scraping_the_daemon_and_every_rule_evaluates()
    {
        var root = Commands.RepoRoot;
        // Some failures and 429s so the failure and rate-limit panels have something to show.
        var injected = 0;
        Exchange.Options.FaultInjector = r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)
            ? Interlocked.Increment(ref injected) switch { <= 2 => FakeFault.Http503, <= 3 => FakeFault.Http429, _ => null }
            : null;
        var port = ScraperProcess.FreePort();
        using var daemon = DaemonHarness.Start(Exchange, Db, port, "KRW-BTC,KRW-ETH", "6h", ["--units", "1,day"]);
        await daemon.WaitForHealthyAsync(port, TimeSpan.FromSeconds(20));

        // The shipped configuration, pointed at this daemon and scraping every second.
        var promDir = Path.Combine(Dir, "prometheus");
        Directory.CreateDirectory(Path.Combine(promDir, "rules"));
        foreach (var rules in Directory.GetFiles(Path.Combine(root, "prometheus", "rules"), "*.yml"))
            File.Copy(rules, Path.Combine(promDir, "rules", Path.GetFileName(rules)));
        var config = (await File.ReadAllTextAsync(Path.Combine(root, "prometheus", "prometheus.yml")))
            .Replace("localhost:8081", $"localhost:{port}", StringComparison.Ordinal)
            .Replace("scrape_interval: 15s", "scrape_interval: 1s", StringComparison.Ordinal)
            .Replace("scrape_timeout: 10s", "scrape_timeout: 1s", StringComparison.Ordinal)
            .Replace("evaluation_interval: 15s", "evaluation_interval: 1s", StringComparison.Ordinal);
        Assert.Contains($"localhost:{port}", config, StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(promDir, "prometheus.yml"), config);
        var promPort = ScraperProcess.FreePort();
        var info = new ProcessStartInfo("prometheus") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[]
        {
            $"--config.file={Path.Combine(promDir, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(promDir, "data")}",
            $"--web.listen-address=127.0.0.1:{promPort}",
        })
        {
            info.ArgumentList.Add(a);
        }
        using var prometheus = Process.Start(info)!;
        var promLog = new System.Text.StringBuilder();
        prometheus.ErrorDataReceived += (_, e) => { lock (promLog) promLog.AppendLine(e.Data); };
        prometheus.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            await DaemonHarness.WaitForFollowingAsync(daemon, port, ["KRW-BTC", "KRW-ETH"], TimeSpan.FromSeconds(60));
            // Enough scrapes for rate() over the dashboard's interval.
            var sw = Stopwatch.StartNew();
            while (true)
            {
                Assert.False(prometheus.HasExited, "prometheus exited: " + promLog);
                try
                {
                    var up = await QueryAsync(http, promPort, "/api/v1/query?query=" + Uri.EscapeDataString("count_over_time(up{job=\"bitcoin-price-scraper\"}[1m]) >= 8"));
                    if (up.GetProperty("data").GetProperty("result").GetArrayLength() > 0) break;
                }
                catch (HttpRequestException) { }
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "prometheus never scraped the daemon 8 times: " + promLog);
                await Task.Delay(500);
            }

            var instance = $"localhost:{port}";
            var empty = new List<string>();
            var queries = DashboardQueries(Path.Combine(root, "grafana", "dashboards", "bitcoin-price-scraper.json"));
            Assert.True(queries.Count >= 10, $"only {queries.Count} queries in the dashboard");
            foreach (var (panel, expr) in queries)
            {
                var q = expr.Replace("$__rate_interval", "30s", StringComparison.Ordinal)
                    .Replace("$instance", instance, StringComparison.Ordinal)
                    .Replace("$market", "KRW-BTC|KRW-ETH", StringComparison.Ordinal);
                var result = await QueryAsync(http, promPort, "/api/v1/query?query=" + Uri.EscapeDataString(q));
                var status = result.GetProperty("status").GetString();
                var count = status == "success" ? result.GetProperty("data").GetProperty("result").GetArrayLength() : 0;
                output.WriteLine($"{count,3} series  {panel}: {q}");
                if (count == 0) empty.Add($"{panel}: {q} ({status})");
            }
            Assert.True(empty.Count == 0, "panels without data:\n" + string.Join('\n', empty));

            var rules = await QueryAsync(http, promPort, "/api/v1/rules");
            var bad = rules.GetProperty("data").GetProperty("groups").EnumerateArray()
                .SelectMany(g => g.GetProperty("rules").EnumerateArray())
                .Where(r => r.GetProperty("health").GetString() != "ok")
                .Select(r => $"{r.GetProperty("name").GetString()}: {r.GetProperty("health").GetString()} {(r.TryGetProperty("lastError", out var e) ? e.GetString() : "")}")
                .ToList();
            var ruleCount = rules.GetProperty("data").GetProperty("groups").EnumerateArray().Sum(g => g.GetProperty("rules").GetArrayLength());
            Assert.True(ruleCount >= 7, $"only {ruleCount} rules loaded");
            Assert.True(bad.Count == 0, "rules that do not evaluate:\n" + string.Join('\n', bad));
        }
        finally
        {
            prometheus.Kill();
            await prometheus.WaitForExitAsync();
            await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10));
        }
    }
}
