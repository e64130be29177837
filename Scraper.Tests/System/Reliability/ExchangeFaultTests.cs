using System.Globalization;
using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;

namespace Scraper.Tests.Reliability;

/// <summary>
/// Every fault the exchange or the network can throw at the daemon, as a burst on the first
/// candle requests: the daemon keeps running, counts the fault in a metric, logs it once per
/// burst, retries or skips, and once the fault stops the database is complete and exact.
/// </summary>
public sealed class ExchangeFaultTests : FakeExchangeTest
{

    /// <summary>Fault, burst length, the metric sample that must have counted it, and the log word of the burst.</summary>
    public static TheoryData<FakeFault, int, string, string> Faults => new()
    {
        { FakeFault.Http500, 4, "upbit_quotation_response_failed_total|reason=\"http_500\"", "http_500" },
        { FakeFault.Http502, 4, "upbit_quotation_response_failed_total|reason=\"http_502\"", "http_502" },
        { FakeFault.Http503, 6, "upbit_quotation_response_failed_total|reason=\"http_503\"", "http_503" },
        { FakeFault.Http429, 5, "upbit_rate_limited_total|group=\"candles\"", "rate_limited" },
        { FakeFault.Http418, 1, "upbit_banned_total|group=\"candles\"", "banned" },
        { FakeFault.Hang, 2, "upbit_quotation_response_failed_total|reason=\"timeout\"", "timeout" },
        { FakeFault.ResetMidBody, 3, "upbit_quotation_response_failed_total|group=\"candles\"", "" },
        { FakeFault.TruncatedJson, 3, "upbit_quotation_response_failed_total|reason=\"malformed_body\"", "malformed_body" },
        { FakeFault.ErrorObjectInsteadOfArray, 3, "upbit_quotation_response_failed_total|reason=\"malformed_body\"", "malformed_body" },
        { FakeFault.WrongContentType, 3, "upbit_quotation_response_failed_total|reason=\"malformed_body\"", "malformed_body" },
        { FakeFault.HugeBody, 2, "upbit_quotation_response_failed_total|reason=\"body_too_large\"", "body_too_large" },
        { FakeFault.SlowTrickle, 2, "upbit_quotation_response_failed_total|reason=\"timeout\"", "timeout" },
        { FakeFault.EmptyArray, 3, "upbit_quotation_request_retry_total|group=\"candles\"", "" },
        { FakeFault.CandlesOutsideWindow, 3, "scraper_unexpected_candles_total|action=\"stored_outside_window\"", "" },
        { FakeFault.DuplicateCandles, 3, "scraper_unexpected_candles_total|action=\"duplicate\"", "" },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task A_burst_of_faults_is_counted_logged_once_and_leaves_the_data_complete(FakeFault fault, int burst, string metric, string logWord)
    {
        var injected = 0;
        Exchange.Options.FaultInjector = r =>
            r.Path.StartsWith("/v1/candles", StringComparison.Ordinal) && Interlocked.Increment(ref injected) <= burst ? fault : null;
        var db = Path.Combine(Dir, "candles.db");
        var port = ScraperProcess.FreePort();
        var since = DateTimeOffset.UtcNow.AddHours(-10);

        using var daemon = DaemonHarness.Start(Exchange, db, port, "KRW-BTC", since.UtcDateTime.ToString("o", CultureInfo.InvariantCulture),
            ["--request-timeout", "1s"]);
        await DaemonHarness.WaitForFollowingAsync(daemon, port, ["KRW-BTC"], TimeSpan.FromSeconds(90));
        var metrics = await DaemonHarness.ScrapeAsync(port);
        var code = await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10));

        Assert.True(code == 0, daemon.Stderr);
        Assert.True(injected >= burst, $"only {injected} requests saw the fault");
        var parts = metric.Split('|');
        Assert.True(DaemonHarness.Sum(metrics, parts[0], parts[1..]) >= 1, $"{metric} did not count the fault:\n{metrics}");
        if (logWord.Length > 0)
        {
            // Logged when the burst starts (and once more when it recovers), not once per request.
            var lines = daemon.Stderr.Split('\n').Count(l => l.Contains(logWord, StringComparison.Ordinal));
            Assert.True(lines is >= 1 and <= 3, $"{lines} log lines mention {logWord}:\n{daemon.Stderr}");
        }
        var series = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(1));
        DaemonIntegrationTests.AssertStoredExactly(Exchange, db, series, since, WindowPlanner.CoverableEnd(series, DateTimeOffset.UtcNow) - series.Unit.Interval);
    }

    [Fact]
    public async Task AnExchange_that_cannot_be_resolved_or_reached_is_counted_and_the_daemon_keeps_running()
    {
        var db = Path.Combine(Dir, "candles.db");
        var port = ScraperProcess.FreePort();
        var closed = ScraperProcess.FreePort(); // nothing listens there
        using var daemon = ScraperProcess.Start(
        [
            "run", "--upbit-url", $"http://127.0.0.1:{closed}", "--db", db, "--listen", $"127.0.0.1:{port}", "--since", "2h",
            "--request-timeout", "1s",
        ]);
        await daemon.WaitForHealthyAsync(port, TimeSpan.FromSeconds(20));
        await Task.Delay(TimeSpan.FromSeconds(3));
        var metrics = await DaemonHarness.ScrapeAsync(port);

        Assert.False(daemon.HasExited);
        Assert.True(DaemonHarness.Sum(metrics, "upbit_quotation_response_failed_total", "reason=\"connection\"") >= 1, metrics);
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));
        // The market check, each group's first failure, and each burst's total at the stop: a few lines, not one per failure.
        Assert.InRange(daemon.Stderr.Split('\n').Count(l => l.Contains("connection", StringComparison.Ordinal)), 1, 6);
    }
}
