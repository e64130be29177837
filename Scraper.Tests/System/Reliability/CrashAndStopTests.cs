using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Web;
using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Storage;
using Scraper.Storage.Sqlite;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;

namespace Scraper.Tests.Reliability;

/// <summary>Stops and crashes at any moment lose nothing: SIGTERM, SIGKILL, corrupt files.</summary>
public sealed class CrashAndStopTests : FakeExchangeTest
{


    [Fact]
    public async Task SIGTERM_mid_backfill_exits_0_in_time_and_every_answered_window_is_stored()
    {
        Exchange.Options.Latency = TimeSpan.FromMilliseconds(400); // requests are in flight when the signal comes
        var port = ScraperProcess.FreePort();
        using var daemon = DaemonHarness.Start(Exchange, Db, port, "KRW-BTC,KRW-ETH", "4d");
        await daemon.WaitForHealthyAsync(port, TimeSpan.FromSeconds(20));
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        var sw = Stopwatch.StartNew();
        var code = await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10));

        Assert.Equal(0, code);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(6), $"took {sw.Elapsed}");
        var answered = Exchange.Requests.Where(r => r.Path.StartsWith("/v1/candles/minutes/1", StringComparison.Ordinal) && r.Status == 200).ToList();
        Assert.NotEmpty(answered);
        using var store = SqliteCandleStore.Open(Db, TimeProvider.System, readOnly: true);
        var unit = CandleUnit.FromMinutes(1);
        var missing = new List<string>();
        foreach (var r in answered)
        {
            var q = HttpUtility.ParseQueryString(r.Query);
            var to = DateTimeOffset.Parse(q["to"]!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            var window = new TimeRange(to - unit.Interval * int.Parse(q["count"]!, CultureInfo.InvariantCulture), to);
            var series = new SeriesKey(q["market"]!, unit);
            if (Coverage.Gaps(store.GetCoverage(series), window).Count > 0) missing.Add($"{series} {window}");
        }
        Assert.True(missing.Count == 0, "answered but not stored: " + string.Join(", ", missing));
        Assert.True(answered.Count < 2 * 29, "the backfill finished before the signal; the test proves nothing");
    }

    [Fact]
    public async Task Twenty_hard_kills_during_backfill_and_follow_leave_the_same_database_as_an_uninterrupted_run()
    {
        var random = new Random(20);
        var since = DateTimeOffset.UtcNow.AddDays(-2).UtcDateTime.ToString("o", CultureInfo.InvariantCulture);
        var port = ScraperProcess.FreePort();
        var kills = 0;
        var followingKills = 0;
        var backfillKills = 0;
        for (var i = 0; i < 20; i++)
        {
            using var victim = DaemonHarness.Start(Exchange, Db, port, "KRW-BTC,BTC-ETH", since, ["--units", "1,5"]);
            await victim.WaitForHealthyAsync(port, TimeSpan.FromSeconds(20));
            string m;
            if (i % 4 == 3)
            {
                // Every fourth kill waits for the metrics to show follow mode, whatever the machine's speed.
                m = await DaemonHarness.WaitForMetricsAsync(victim, port, Following, TimeSpan.FromSeconds(60), "reach follow mode");
            }
            else
            {
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(50, 1500)));
                m = await DaemonHarness.ScrapeAsync(port);
            }
            if (Following(m)) followingKills++;
            else backfillKills++;
            victim.KillHard();
            kills++;
        }

        using (var last = DaemonHarness.Start(Exchange, Db, port, "KRW-BTC,BTC-ETH", since, ["--units", "1,5"]))
        {
            await last.WaitForHealthyAsync(port, TimeSpan.FromSeconds(20));
            await DaemonHarness.WaitForFollowingAsync(last, port, ["KRW-BTC", "BTC-ETH"], TimeSpan.FromSeconds(60));
            await DaemonHarness.WaitForFollowingAsync(last, port, ["KRW-BTC", "BTC-ETH"], TimeSpan.FromSeconds(60), unit: "5");
            Assert.Equal(0, await DaemonHarness.StopAsync(last, TimeSpan.FromSeconds(10)));
        }

        // The same range, fetched without interruption into a second file.
        var clean = Path.Combine(Dir, "clean.db");
        var uninterrupted = await ScraperProcess.RunAsync(
            ["backfill", "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", clean, "--markets", "KRW-BTC,BTC-ETH", "--units", "1,5", "--since", since],
            TimeSpan.FromMinutes(2));
        Assert.True(uninterrupted.ExitCode == 0, uninterrupted.Stderr);

        Assert.Equal(20, kills);
        Assert.True(followingKills >= 5, $"only {followingKills} kills hit follow mode");
        // The first pass needs at least 36 windows at 10 requests/s, so a kill within 1.5 s of start hits it.
        Assert.True(backfillKills >= 1, "no kill hit the backfill");
        var end = DateTimeOffset.UtcNow;
        using var killed = SqliteCandleStore.Open(Db, TimeProvider.System, readOnly: true);
        using var reference = SqliteCandleStore.Open(clean, TimeProvider.System, readOnly: true);
        Assert.Equal("ok", killed.IntegrityCheck());
        foreach (var market in new[] { "KRW-BTC", "BTC-ETH" })
        {
            foreach (var unit in new[] { CandleUnit.FromMinutes(1), CandleUnit.FromMinutes(5) })
            {
                var series = new SeriesKey(market, unit);
                var upTo = WindowPlanner.CoverableEnd(series, end) - unit.Interval;
                var from = unit.AlignDown(DateTimeOffset.Parse(since, CultureInfo.InvariantCulture));
                Assert.Equal(reference.ReadCandles(series, from, upTo).ToList(), killed.ReadCandles(series, from, upTo).ToList());
                DaemonIntegrationTests.AssertStoredExactly(Exchange, Db, series, from, upTo);
            }
        }
    }

    private static bool Following(string metrics) =>
        new[] { "KRW-BTC", "BTC-ETH" }.All(market => new[] { "1", "5" }.All(unit =>
            DaemonHarness.Sample(metrics, $"scraper_following{{market=\"{market}\",unit=\"{unit}\"}}") == 1));

    [Fact]
    public async Task SIGTERM_during_a_5xx_storm_exits_at_once_without_claiming_abandoned_responses()
    {
        // Candles answer 503 at once: nothing is in flight, every window waits out a growing back-off.
        Exchange.Options.FaultInjector = r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal) ? FakeFault.Http503 : null;
        var port = ScraperProcess.FreePort();
        using var daemon = DaemonHarness.Start(Exchange, Db, port, "KRW-BTC", "2d");
        await daemon.WaitForHealthyAsync(port, TimeSpan.FromSeconds(20));
        // Five retries per window: each now waits out a back-off of 8 s, longer than the 5 s grace.
        await DaemonHarness.WaitForMetricsAsync(daemon, port, m =>
        {
            var first = DaemonHarness.Sample(m, "upbit_quotation_request_new_total{group=\"candles\"}") ?? 0;
            var retries = DaemonHarness.Sample(m, "upbit_quotation_request_retry_total{group=\"candles\"}") ?? 0;
            return first >= 15 && retries >= 5 * first;
        }, TimeSpan.FromSeconds(60), "retry every window five times");

        var sw = Stopwatch.StartNew();
        var code = await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(15));

        Assert.Equal(0, code);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2.5), $"stop took {sw.Elapsed}:\n{daemon.Stderr}");
        Assert.DoesNotContain("abandoned", daemon.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_corrupted_database_file_is_refused_with_exit_74_naming_it_and_left_untouched()
    {
        var bytes = new byte[64 * 1024];
        RandomNumberGenerator.Fill(bytes);
        "SQLite format 3\0"u8.CopyTo(bytes);
        await File.WriteAllBytesAsync(Db, bytes);

        var (code, _, stderr) = await ScraperProcess.RunAsync(
            ["backfill", "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Db, "--since", "1h"], TimeSpan.FromSeconds(30));

        Assert.Equal(74, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains(Db, stderr, StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Db));
        Assert.False(File.Exists(Db + "-wal"));
        Assert.DoesNotContain(Exchange.Requests, r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal));
    }
}
