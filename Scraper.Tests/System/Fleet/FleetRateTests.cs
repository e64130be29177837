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
    private const string Alone = "127.0.0.4";

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

    /// <summary>
    /// Three scrapers on three addresses backfill <paramref name="markets"/> into <paramref name="database"/>
    /// while one alone on a fourth address backfills about a third as much into <paramref name="alone"/>,
    /// so that whatever else the machine does slows both alike; checks the data, the shares and that no
    /// window was fetched twice, and returns both rates.
    /// </summary>
    private async Task<((double Rate, int Requests, double Seconds) Three, (double Rate, int Requests, double Seconds) One)> RunAsync(string database, string alone, string[] markets)
    {
        var started = DateTimeOffset.UtcNow;
        var since = started.AddDays(-30);
        var fleet = Addresses.Select(a => ScraperProcess.Start(Run.Backfill(database, a, string.Join(',', markets), since)))
            .Append(ScraperProcess.Start(Run.Backfill(alone, Alone, string.Join(',', markets[..2]), started.AddDays(-20)))).ToList();
        try
        {
            foreach (var scraper in fleet) Assert.True(await scraper.WaitForExitAsync(TimeSpan.FromSeconds(150)) == 0, scraper.Stderr);
        }
        finally
        {
            foreach (var scraper in fleet) scraper.Dispose();
        }
        // For a closer look at a pause: every request the fake saw (address, ms since the start received, counted, answered, status, query).
        if (Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_FLEET_DUMP") is { Length: > 0 } dumpFile)
            File.WriteAllLines(dumpFile, Exchange.Requests.Where(r => r.At >= started).OrderBy(r => r.At).Select(r => $"{r.SourceIp} {(r.At - started).TotalMilliseconds:0} {(r.CountedAt - started).TotalMilliseconds:0} {(r.AnsweredAt - started).TotalMilliseconds:0} {r.Status} {r.Path}?{r.Query}"));
        var three = Rate(started, Addresses);
        var one = Rate(started, Alone);
        var requests = Addresses.Select(a => Exchange.Requests.Where(r => r.SourceIp == a && r.CountedAt >= started && r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)).OrderBy(r => r.CountedAt).ToList()).ToList();
        var perScraper = requests.Select(r => r.Count).ToList();
        var total = perScraper.Sum();
        var windows = markets.Length * (int)Math.Ceiling((DateTimeOffset.UtcNow - since).TotalMinutes / 200);

        output.WriteLine($"one scraper alone at the same time: {one.Rate:0.00} requests/s ({one.Rate / 10:P1} of the allowed 10/s; {one.Requests} requests in {one.Seconds:0.0} s)");
        output.WriteLine($"three scrapers: {three.Rate:0.00} requests/s together ({three.Rate / 30:P1} of 3 x 10/s), {three.Rate / one.Rate:0.00}x one scraper; " +
                         $"{three.Requests} requests in {three.Seconds:0.0} s while all three sent; requests per scraper {string.Join(" / ", perScraper)} for about {windows} windows");
        output.WriteLine("own rate per scraper (first to last request) and its gaps over 1.1 s: " + string.Join(" / ", requests.Select(r =>
            $"{(r.Count - 1) / (r[^1].CountedAt - r[0].CountedAt).TotalSeconds:0.00}/s, {r.Skip(1).Select((x, i) => x.CountedAt - r[i].CountedAt).Where(g => g > TimeSpan.FromMilliseconds(1100)).Sum(g => g.TotalSeconds):0.0} s")));
        foreach (var (address, own) in Addresses.Zip(requests)) output.WriteLine($"gaps over 1.1 s of {address}: {GapCauses(own, started)}");
        output.WriteLine($"429: {Exchange.Count429}, 418: {Exchange.Count418}; load average {File.ReadAllText("/proc/loadavg").Trim()}");
        Run.VerifyExact(database, markets, since, DateTimeOffset.UtcNow);
        Assert.All(perScraper, n => Assert.True(n >= total / 5, $"an unfair share: {string.Join(" / ", perScraper)}"));
        Assert.True(total <= windows * 1.05 + 12, $"{total} requests for about {windows} windows: windows fetched twice");
        return (three, one);
    }

    /// <summary>
    /// Each pause over 1.1 s between a scraper's candle requests (in order of arrival): when it began,
    /// how long it was, and its cause from the fake's own times: the exchange late to answer one of the
    /// scraper's requests within it (the fake runs in this test's process), the scraper alone pausing
    /// at the same time (the machine), or the scraper's own (claiming windows, its pace).
    /// </summary>
    private string GapCauses(List<RecordedRequest> own, DateTimeOffset started)
    {
        var alone = Exchange.Requests.Where(r => r.SourceIp == Alone && r.Path.StartsWith("/v1/candles", StringComparison.Ordinal) && r.At >= started).OrderBy(r => r.At).ToList();
        var gaps = Enumerable.Range(1, Math.Max(0, own.Count - 1)).Where(i => own[i].At - own[i - 1].At > TimeSpan.FromMilliseconds(1100)).Select(i =>
        {
            var (from, to) = (own[i - 1].At, own[i].At);
            var late = own.Take(i).Where(r => r.AnsweredAt > from && r.AnsweredAt <= to).Select(r => r.AnsweredAt - r.CountedAt).DefaultIfEmpty().Max();
            var cause = late > TimeSpan.FromMilliseconds(50) ? $"the exchange answered {late.TotalMilliseconds:0} ms after counting"
                : alone.Count > 1 && !alone.Any(r => r.At > from + TimeSpan.FromMilliseconds(100) && r.At < to - TimeSpan.FromMilliseconds(100)) && alone[0].At < from && alone[^1].At > to ? "the scraper alone paused too"
                : "its own";
            return $"{(from - started).TotalSeconds:0.0} s +{(to - from).TotalMilliseconds:0} ms ({cause}; {own[i - 1].Query} → {own[i].Query})";
        }).ToList();
        return gaps.Count == 0 ? "none" : string.Join(", ", gaps);
    }

    /// <summary>One scraper reaches 9.4-9.9 requests/s on a quiet machine; below this, at the same time as the three, the machine left no scraper its pace.</summary>
    private const double QuietMachineRate = 9.0;

    [SkippableFact]
    public async Task Three_scrapers_on_three_addresses_share_one_backlog_at_three_times_the_rate_of_one()
    {
        Skip.If(PostgresServer.SkipReason is not null, PostgresServer.SkipReason);
        var (three, one) = await RunAsync(await Server.CreateDatabaseAsync(), await Server.CreateDatabaseAsync(), ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL"]);

        // The data, the shares and no double fetching are checked above whatever the machine does; the
        // rate only where the machine let the scraper alone reach its pace at the same time (other work
        // starving these processes delays and bunches their requests, at the fake as well).
        var held = Exchange.Count429 == 0 && three.Rate >= 2.8 * one.Rate;
        Skip.If(!held && one.Rate < QuietMachineRate,
            $"the machine was too busy to measure a rate: the scraper alone reached {one.Rate:0.00} of 10 requests/s at the same time; three: {three.Rate / one.Rate:0.00}x, {Exchange.Count429} x 429; data, shares and no double fetching verified");

        Assert.Equal(0, Exchange.Count429);
        Assert.True(three.Rate >= 2.8 * one.Rate, $"three scrapers {three.Rate:0.00}/s = {three.Rate / one.Rate:0.00}x one scraper's {one.Rate:0.00}/s");
    }
}
