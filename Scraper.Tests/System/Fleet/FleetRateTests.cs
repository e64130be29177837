using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Scraper.Tests.TestKit;
using Xunit.Abstractions;

namespace Scraper.Tests.Fleet;

/// <summary>
/// A rate is a claim about the machine as much as about the code: tests of this collection run
/// alone, after the tier's parallel classes, so that no other test's daemons and fakes compete
/// with the scrapers measured for the two cores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MeasuresRates
{
    /// <summary>The collection's name.</summary>
    public const string Name = "measures rates";
}

/// <summary>
/// Three real daemon binaries on 127.0.0.1, .2 and .3 sharing one backlog in one real PostgreSQL
/// database, against one fake exchange that limits each source IP: together they fetch at three
/// times the rate of one, with no 429, fetching no window twice, and store exactly the fake's candles.
/// </summary>
[Collection(MeasuresRates.Name)]
public sealed class FleetRateTests(ITestOutputHelper output) : PostgresExchangeTest(new FakeExchangeOptions { NoTradeProbability = 0 })
{
    private static readonly string[] Addresses = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];

    private FleetRun Run => new(Server, Exchange, Dir, "2s");

    /// <summary>
    /// Candle requests per second of the given addresses while all of them were sending: from the
    /// last one's first request to the first one's last, so that neither a slow start nor the end of
    /// the backlog (when a scraper finds nothing left to claim) counts; one alone is measured the same way.
    /// </summary>
    private (double Rate, int Requests, double Seconds) Rate(DateTimeOffset after, params string[] addresses)
    {
        var candles = Exchange.Requests.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal) && addresses.Contains(r.SourceIp) && r.CountedAt >= after).ToList();
        var from = addresses.Max(a => candles.Where(r => r.SourceIp == a).Min(r => r.CountedAt));
        var to = addresses.Min(a => candles.Where(r => r.SourceIp == a).Max(r => r.CountedAt));
        var inside = candles.Count(r => r.CountedAt >= from && r.CountedAt <= to);
        var seconds = (to - from).TotalSeconds;
        return ((inside - addresses.Length) / seconds, inside, seconds);
    }

    /// <summary>Three scrapers on three addresses backfill <paramref name="markets"/> into <paramref name="database"/>; checks the data, the shares and that no window was fetched twice.</summary>
    private async Task<(double Rate, int Requests, double Seconds)> RunThreeAsync(string database, string[] markets, (double Rate, int Requests, double Seconds) one)
    {
        var started = DateTimeOffset.UtcNow;
        var since = started.AddDays(-30);
        var fleet = Addresses.Select(a => ScraperProcess.Start(Run.Backfill(database, a, string.Join(',', markets), since))).ToList();
        try
        {
            foreach (var scraper in fleet) Assert.True(await scraper.WaitForExitAsync(TimeSpan.FromSeconds(150)) == 0, scraper.Stderr);
        }
        finally
        {
            foreach (var scraper in fleet) scraper.Dispose();
        }
        var three = Rate(started, Addresses);
        var requests = Addresses.Select(a => Exchange.Requests.Where(r => r.SourceIp == a && r.CountedAt >= started && r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)).OrderBy(r => r.CountedAt).ToList()).ToList();
        var perScraper = requests.Select(r => r.Count).ToList();
        var total = perScraper.Sum();
        var windows = markets.Length * (int)Math.Ceiling((DateTimeOffset.UtcNow - since).TotalMinutes / 200);

        output.WriteLine($"one scraper: {one.Rate:0.00} requests/s ({one.Rate / 10:P1} of the allowed 10/s; {one.Requests} requests in {one.Seconds:0.0} s)");
        output.WriteLine($"three scrapers: {three.Rate:0.00} requests/s together ({three.Rate / 30:P1} of 3 x 10/s), {three.Rate / one.Rate:0.00}x one scraper; " +
                         $"{three.Requests} requests in {three.Seconds:0.0} s while all three sent; requests per scraper {string.Join(" / ", perScraper)} for about {windows} windows");
        output.WriteLine("own rate per scraper (first to last request) and its gaps over 1.1 s: " + string.Join(" / ", requests.Select(r =>
            $"{(r.Count - 1) / (r[^1].CountedAt - r[0].CountedAt).TotalSeconds:0.00}/s, {r.Skip(1).Select((x, i) => x.CountedAt - r[i].CountedAt).Where(g => g > TimeSpan.FromMilliseconds(1100)).Sum(g => g.TotalSeconds):0.0} s")));
        output.WriteLine($"429: {Exchange.Count429}, 418: {Exchange.Count418}; load average {File.ReadAllText("/proc/loadavg").Trim()}");
        Run.VerifyExact(database, markets, since, DateTimeOffset.UtcNow);
        Assert.All(perScraper, n => Assert.True(n >= total / 5, $"an unfair share: {string.Join(" / ", perScraper)}"));
        Assert.True(total <= windows * 1.05 + 12, $"{total} requests for about {windows} windows: windows fetched twice");
        return three;
    }

    [PostgresFact]
    public async Task Three_scrapers_on_three_addresses_share_one_backlog_at_three_times_the_rate_of_one()
    {
        var now = DateTimeOffset.UtcNow;
        var alone = await Server.CreateDatabaseAsync();
        var shared = await Server.CreateDatabaseAsync();
        var (code, _, stderr) = await ScraperProcess.RunAsync(Run.Backfill(alone, "127.0.0.4", "KRW-BTC,KRW-ETH", now.AddDays(-15)), TimeSpan.FromSeconds(90));
        Assert.True(code == 0, stderr);
        var one = Rate(DateTimeOffset.MinValue, "127.0.0.4");

        var three = await RunThreeAsync(shared, ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL"], one);

        Assert.Equal(0, Exchange.Count429);
        Assert.True(three.Rate >= 2.8 * one.Rate, $"three scrapers {three.Rate:0.00}/s = {three.Rate / one.Rate:0.00}x one scraper's {one.Rate:0.00}/s");
    }
}
