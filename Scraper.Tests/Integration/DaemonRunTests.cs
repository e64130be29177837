using System.Diagnostics;
using System.Globalization;
using Scraper.Exchange;
using Scraper.Pipeline;
using Scraper.Storage;
using Scraper.Storage.Sqlite;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Integration;

/// <summary>The daemon (`run`): backfill, follow, metrics, SIGTERM and SIGKILL.</summary>
public sealed class DaemonRunTests() : FakeExchangeTest(new FakeExchangeOptions { NoTradeProbability = 0 })
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public override async Task DisposeAsync()
    {
        _http.Dispose();
        await base.DisposeAsync();
    }

    private ScraperProcess StartDaemon(int port, string since) => DaemonHarness.Start(Exchange, Db, port, "KRW-BTC,KRW-ETH", since);

    private static Task<string> ScrapeAsync(int port) => DaemonHarness.ScrapeAsync(port);

    private static double? Sample(string metrics, string nameAndLabels) => DaemonHarness.Sample(metrics, nameAndLabels);

    private static Task WaitForFollowingAsync(ScraperProcess daemon, int port, TimeSpan timeout) =>
        DaemonHarness.WaitForFollowingAsync(daemon, port, ["KRW-BTC", "KRW-ETH"], timeout);

    [SystemFact("promtool")]
    public async Task Run_backfills_follows_serves_metrics_and_stops_cleanly_on_SIGTERM()
    {
        var port = ScraperProcess.FreePort();
        var since = DateTimeOffset.UtcNow.AddHours(-12);
        using var daemon = StartDaemon(port, since.UtcDateTime.ToString("o", CultureInfo.InvariantCulture));
        await daemon.WaitForHealthyAsync(port, TimeSpan.FromSeconds(20));
        await WaitForFollowingAsync(daemon, port, TimeSpan.FromSeconds(60));

        // Follow: the minute that closes next is stored within seconds.
        var now = DateTimeOffset.UtcNow;
        var nextClose = CandleUnit.FromMinutes(1).AlignDown(now).AddMinutes(1);
        await Task.Delay(nextClose - now + TimeSpan.FromSeconds(4));
        using (var store = SqliteCandleStore.Open(Db, TimeProvider.System, readOnly: true))
        {
            Assert.Equal(nextClose.AddMinutes(-1), store.NewestCandleStart(new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(1))));
        }

        var metrics = await ScrapeAsync(port);
        foreach (var name in new[]
        {
            "upbit_quotation_request_new_total{group=\"candles\"}", "upbit_quotation_response_success_total{group=\"candles\"}",
            "upbit_ticker_trade_price{market=\"KRW-BTC\"}", "scraper_backfill_progress_ratio{market=\"KRW-BTC\",unit=\"1\"}",
            "upbit_remaining_requests{group=\"candles\"}", "scraper_candles_stored_total{market=\"KRW-ETH\",unit=\"1\"}",
        })
        {
            Assert.True(Sample(metrics, name) is > 0, $"{name} missing or zero in\n{metrics}");
        }
        Assert.Equal(1, Sample(metrics, "scraper_backfill_progress_ratio{market=\"KRW-BTC\",unit=\"1\"}"));
        Assert.Contains("upbit_request_duration_seconds_bucket{group=\"candles\",outcome=\"success\",le=\"0.005\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("process_working_set_bytes", metrics, StringComparison.Ordinal);
        var ticker = Exchange.Data.TickerFor("KRW-BTC", DateTimeOffset.UtcNow);
        Assert.InRange(Sample(metrics, "upbit_ticker_trade_price{market=\"KRW-BTC\"}")!.Value, (double)ticker.TradePrice * 0.5, (double)ticker.TradePrice * 1.5);
        await AssertPromtoolAcceptsAsync(metrics);

        // Only /metrics and /healthz are served.
        var other = await _http.GetAsync(new Uri($"http://127.0.0.1:{port}/"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, other.StatusCode);

        var stopwatch = Stopwatch.StartNew();
        daemon.Signal(15);
        var code = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, code);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(6), $"stop took {stopwatch.Elapsed}");
        Assert.Equal(0, Exchange.Count429);
        var end = DateTimeOffset.UtcNow;
        foreach (var market in new[] { "KRW-BTC", "KRW-ETH" })
        {
            var series = new SeriesKey(market, CandleUnit.FromMinutes(1));
            DaemonIntegrationTests.AssertStoredExactly(Exchange, Db, series, since, WindowPlanner.CoverableEnd(series, end) - series.Unit.Interval);
        }
        Assert.DoesNotContain("<", daemon.Stderr.Split('\n').FirstOrDefault() ?? "", StringComparison.Ordinal); // terminal format, not journal
    }

    [Fact]
    public async Task A_hard_kill_mid_backfill_then_a_restart_leaves_no_gap_and_no_duplicate()
    {
        var port = ScraperProcess.FreePort();
        var since = DateTimeOffset.UtcNow.AddDays(-3);
        var sinceText = since.UtcDateTime.ToString("o", CultureInfo.InvariantCulture);
        var kills = 0;
        for (var i = 0; i < 3; i++)
        {
            using var victim = StartDaemon(port, sinceText);
            await victim.WaitForHealthyAsync(port, TimeSpan.FromSeconds(20));
            await Task.Delay(TimeSpan.FromMilliseconds(700 + (i * 500)));
            victim.KillHard();
            kills++;
        }

        using var daemon = StartDaemon(port, sinceText);
        await daemon.WaitForHealthyAsync(port, TimeSpan.FromSeconds(20));
        await WaitForFollowingAsync(daemon, port, TimeSpan.FromSeconds(90));
        daemon.Signal(15);
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(3, kills);
        var end = DateTimeOffset.UtcNow;
        foreach (var market in new[] { "KRW-BTC", "KRW-ETH" })
        {
            var series = new SeriesKey(market, CandleUnit.FromMinutes(1));
            DaemonIntegrationTests.AssertStoredExactly(Exchange, Db, series, since, WindowPlanner.CoverableEnd(series, end) - series.Unit.Interval);
        }
        // Each window was fetched about once: a restart does not start over.
        var windows = 2 * (int)Math.Ceiling(3 * 1440 / 200.0);
        var candleRequests = Exchange.Requests.Count(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal));
        Assert.InRange(candleRequests, windows, windows + 4 * 20);
    }

    private static async Task AssertPromtoolAcceptsAsync(string metrics)
    {
        var info = new ProcessStartInfo("promtool") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("check");
        info.ArgumentList.Add("metrics");
        using var p = Process.Start(info)!;
        await p.StandardInput.WriteAsync(metrics);
        p.StandardInput.Close();
        var output = await p.StandardOutput.ReadToEndAsync() + await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0 && output.Trim().Length == 0, "promtool check metrics: " + output);
    }
}
