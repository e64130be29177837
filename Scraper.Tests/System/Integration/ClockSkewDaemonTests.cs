using System.Globalization;
using System.Text.RegularExpressions;
using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Tests.FakeExchange;

namespace Scraper.Tests.Integration;

/// <summary>
/// The daemon (`run`) on a host whose clock runs ten minutes ahead of the exchange — the fake's
/// clock is set ten minutes behind the system clock — and then is put right.
/// </summary>
public sealed class ClockSkewDaemonTests() : FakeExchangeTest(new FakeExchangeOptions { NoTradeProbability = 0, ClockOffset = TimeSpan.FromMinutes(-10) })
{
    private static readonly SeriesKey Btc = new("KRW-BTC", CandleUnit.FromMinutes(1));

    private static int Count(string text, string pattern) => Regex.Matches(text, Regex.Escape(pattern)).Count;

    [Fact]
    public async Task A_host_ahead_follows_the_exchanges_clock_reports_the_skew_once_and_catches_up_when_it_is_put_right()
    {
        var port = ScraperProcess.FreePort();
        var since = DateTimeOffset.UtcNow.AddHours(-2);
        // Polling: the next pass after a close is at most a minute away. Over the stream, coverage
        // moves only with reconciliations, the next of which may be more than the wait below away.
        using var daemon = DaemonHarness.Start(Exchange, Db, port, "KRW-BTC", since.UtcDateTime.ToString("o", CultureInfo.InvariantCulture), ["--live", "poll"]);
        await DaemonHarness.WaitForFollowingAsync(daemon, port, ["KRW-BTC"], TimeSpan.FromSeconds(60));

        var metrics = await DaemonHarness.ScrapeAsync(port);
        Assert.InRange(DaemonHarness.Sample(metrics, "upbit_clock_skew_seconds") ?? double.NaN, 598, 602);
        var coveredUntil = DateTimeOffset.FromUnixTimeSeconds((long)DaemonHarness.Sample(metrics, "scraper_covered_until_timestamp_seconds{market=\"KRW-BTC\",unit=\"1\"}")!.Value);
        Assert.True(coveredUntil <= WindowPlanner.CoverableEnd(Btc, Exchange.Now), $"covered until {coveredUntil:o}, the exchange is at {Exchange.Now:o}");

        // The clock is put right: the minutes the exchange did not have yet are fetched on the next follow pass.
        Exchange.Options.ClockOffset = TimeSpan.Zero;
        await DaemonHarness.WaitForMetricsAsync(daemon, port, m =>
            DaemonHarness.Sample(m, "scraper_covered_until_timestamp_seconds{market=\"KRW-BTC\",unit=\"1\"}") is { } until
            && DateTimeOffset.FromUnixTimeSeconds((long)until) >= WindowPlanner.CoverableEnd(Btc, DateTimeOffset.UtcNow) - Btc.Unit.Interval,
            TimeSpan.FromSeconds(90), "catch up once the clock was put right");
        metrics = await DaemonHarness.ScrapeAsync(port);
        Assert.InRange(DaemonHarness.Sample(metrics, "upbit_clock_skew_seconds") ?? double.NaN, -2, 2);

        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));
        DaemonIntegrationTests.AssertStoredExactly(Exchange, Db, Btc, since, WindowPlanner.CoverableEnd(Btc, DateTimeOffset.UtcNow) - Btc.Unit.Interval);
        Assert.Equal(1, Count(daemon.Stderr, "s ahead of the exchange's"));
        Assert.Equal(1, Count(daemon.Stderr, "agrees with the exchange's again"));
    }
}
