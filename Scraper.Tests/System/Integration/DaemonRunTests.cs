using System.Diagnostics;
using System.Globalization;
using Scraper.Domain;
using Scraper.Pipeline;
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

        // The reconciliation after connecting plans the newest minute again (stored by the backfill
        // but not yet coverable) and shows it missing until its answer is stored.
        var progress = "scraper_backfill_progress_ratio{market=\"KRW-BTC\",unit=\"1\"}";
        var metrics = await DaemonHarness.WaitForMetricsAsync(daemon, port, x => Sample(x, progress) == 1, TimeSpan.FromSeconds(30), "backfill progress 1");
        foreach (var name in new[]
        {
            "upbit_quotation_request_new_total{group=\"candles\"}", "upbit_quotation_response_success_total{group=\"candles\"}",
            "upbit_ticker_trade_price{market=\"KRW-BTC\"}", "scraper_backfill_progress_ratio{market=\"KRW-BTC\",unit=\"1\"}",
            "scraper_candles_stored_total{market=\"KRW-ETH\",unit=\"1\"}",
        })
        {
            Assert.True(Sample(metrics, name) is > 0, $"{name} missing or zero in\n{metrics}");
        }
        // Zero when the last answer was the window's tenth request: the first slice after the probe fills it.
        Assert.True(Sample(metrics, "upbit_remaining_requests{group=\"candles\"}") is >= 0 and <= 10, $"upbit_remaining_requests{{group=\"candles\"}} missing in\n{metrics}");
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

    /// <summary>
    /// Follow, proven without waiting for a real minute: the daemon runs in process on a clock
    /// shared with the fake exchange, and the test moves that clock past the next close.
    /// </summary>
    [Fact]
    public async Task A_minute_that_closes_while_following_is_stored_within_seconds_of_its_close()
    {
        var clock = new JumpClock();
        Exchange.Options.Time = clock;
        var port = ScraperProcess.FreePort();
        var since = clock.GetUtcNow().AddHours(-3).UtcDateTime.ToString("o", CultureInfo.InvariantCulture);
        using var stop = new CancellationTokenSource();
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var app = new Scraper.Hosting.ProgramContext(stdout, stderr, new Dictionary<string, string>(), clock, stop.Token);
        var run = Scraper.Hosting.ScraperApp.RunAsync(
            ["run", "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Db, "--listen", $"127.0.0.1:{port}", "--markets", "KRW-BTC,KRW-ETH", "--since", since,
                // Polling's promise; the stream stores forming candles too (LiveDaemonTests covers it).
                "--live", "poll"],
            app);
        try
        {
            await DaemonHarness.WaitForFollowingAsync(null, port, ["KRW-BTC", "KRW-ETH"], TimeSpan.FromSeconds(60));
            var btc = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(1));
            var now = clock.GetUtcNow();
            var nextClose = btc.Unit.AlignDown(now).AddMinutes(1);
            using (var store = SqliteCandleStore.Open(Db, TimeProvider.System, readOnly: true))
            {
                Assert.Equal(nextClose.AddMinutes(-2), store.NewestCandleStart(btc)); // not yet closed: not there
            }

            clock.Jump(nextClose + CandleCollector.FollowDelay - now);
            var stored = Stopwatch.StartNew();
            DateTimeOffset? newest = null;
            while (stored.Elapsed < TimeSpan.FromSeconds(10) && newest != nextClose.AddMinutes(-1))
            {
                await Task.Delay(50);
                using var store = SqliteCandleStore.Open(Db, TimeProvider.System, readOnly: true);
                newest = store.NewestCandleStart(btc);
            }
            Assert.True(newest == nextClose.AddMinutes(-1), $"newest {newest}, expected {nextClose.AddMinutes(-1)}; {stderr}");
            Assert.True(stored.Elapsed < TimeSpan.FromSeconds(5), $"stored {stored.Elapsed} after its close");
        }
        finally
        {
            await stop.CancelAsync();
        }
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal(0, Exchange.Count429);
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
