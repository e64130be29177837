using System.Diagnostics;
using System.Globalization;
using System.Text;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Fleet;
using Scraper.Tests.Integration;
using Scraper.Tests.TestKit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Scraper.Tests.Benchmarks;

/// <summary>Runs only under `./build.sh bench` (BITCOIN_PRICE_SCRAPER_BENCH=1), and Skipped with the reason where no PostgreSQL can run.</summary>
public sealed class FleetBenchFactAttribute : FactAttribute
{
    /// <summary>Skips unless the bench run asked for it and PostgreSQL is there.</summary>
    public FleetBenchFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH") != "1") Skip = "benchmark: run ./build.sh bench";
        else if (PostgresServer.SkipReason is { } reason) Skip = reason;
    }
}

/// <summary>
/// 1, 2 and 3 real `backfill` processes, each bound to its own loopback address (the fake limits
/// each source IP to 10 candle requests/s), sharing one backlog through one real PostgreSQL: the
/// aggregate rate against N x 10/s, how the requests were shared, and where each scraper was idle.
/// </summary>
public sealed class FleetBenchmark(ITestOutputHelper output) : PostgresExchangeTest(new FakeExchangeOptions { NoTradeProbability = 0 })
{
    private static readonly string[] Addresses = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
    private static readonly string[] Markets = ["KRW-BTC", "KRW-ETH", "KRW-XRP"];
    private const int Days = 20;

    /// <summary>A gap between two requests of one scraper longer than this counts as idle: a scraper at its pace sends each second's budget in a burst, so gaps of up to a second are its pace.</summary>
    private static readonly TimeSpan IdleGap = TimeSpan.FromMilliseconds(1100);

    private sealed record Scraper(string Address, DateTimeOffset Started, DateTimeOffset Exited, int Code, string Stderr);

    [FleetBenchFact]
    public async Task One_two_and_three_scrapers_on_one_PostgreSQL()
    {
        // The default lease period, as users run it.
        var run = new FleetRun(Server, Exchange, Dir, "30s");
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"Fleet benchmark {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {Markets.Length} markets x {Days} days, binary {ScraperProcess.BinaryPath}");
        table.AppendLine();
        table.AppendLine("| scrapers | aggregate requests/s | share of N x 10/s | requests per scraper | own rate per scraper (first to last request) | idle per scraper: start / gaps > 1.1 s / end | 429 | 418 | windows fetched twice | verified exact | wall | machine CPU busy | load average |");
        table.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        var verifiedAll = true;
        for (var n = 1; n <= Addresses.Length; n++)
        {
            var (row, verified) = await RunFleetAsync(run, n);
            output.WriteLine(row);
            table.AppendLine(row);
            verifiedAll &= verified;
        }
        var text = table.ToString();
        output.WriteLine(text);
        var outDir = Path.Combine(Commands.RepoRoot, "dist", "bench");
        Directory.CreateDirectory(outDir);
        await File.WriteAllTextAsync(Path.Combine(outDir, "fleet.md"), text);
        Assert.True(verifiedAll, text);
    }

    private async Task<(string Row, bool Verified)> RunFleetAsync(FleetRun run, int n)
    {
        var database = await Server.CreateDatabaseAsync();
        var addresses = Addresses.Take(n).ToArray();
        // The fake's per-address window of the previous run drains first.
        await Task.Delay(TimeSpan.FromMilliseconds(1100));
        Exchange.ClearRequests();
        var since = DateTimeOffset.UtcNow.AddDays(-Days);
        var cpuBefore = MachineCpu();
        var wall = Stopwatch.StartNew();
        var scrapers = await Task.WhenAll(addresses.Select(a => Task.Run(async () =>
        {
            var started = DateTimeOffset.UtcNow;
            using var process = ScraperProcess.Start(run.Backfill(database, a, string.Join(',', Markets), since));
            var code = await process.WaitForExitAsync(TimeSpan.FromMinutes(5));
            return new Scraper(a, started, DateTimeOffset.UtcNow, code, process.Stderr);
        })));
        wall.Stop();
        var cpuAfter = MachineCpu();
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[..3];

        var verified = scrapers.All(s => s.Code == 0);
        foreach (var s in scrapers.Where(s => s.Code != 0)) output.WriteLine($"{s.Address}: exit {s.Code}\n{s.Stderr}");
        try
        {
            run.VerifyExact(database, Markets, since, DateTimeOffset.UtcNow);
        }
        catch (XunitException e)
        {
            verified = false;
            output.WriteLine($"{n} scrapers: not exact: {e.Message}");
        }

        var candles = Exchange.Requests.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal) && addresses.Contains(r.SourceIp)).OrderBy(r => r.At).ToList();
        var span = (candles[^1].At - candles[0].At).TotalSeconds;
        var aggregate = (candles.Count - 1) / span;
        var answered = candles.Where(r => r.Status == 200).ToList();
        var twice = answered.Count - answered.Select(r => r.Query).Distinct().Count();
        var perScraper = scrapers.Select(s => (s, Requests: candles.Where(r => r.SourceIp == s.Address).ToList())).ToList();
        var busy = cpuAfter.Total - cpuBefore.Total == 0 ? 0 : 1 - (double)(cpuAfter.Idle - cpuBefore.Idle) / (cpuAfter.Total - cpuBefore.Total);
        var row = string.Create(CultureInfo.InvariantCulture,
            $"| {n} | {aggregate:0.00} | {aggregate / (n * 10):P1} | {string.Join(" / ", perScraper.Select(p => p.Requests.Count))} | {string.Join(" / ", perScraper.Select(p => OwnRate(p.Requests)))} | " +
            $"{string.Join(" / ", perScraper.Select(p => Idle(p.s, p.Requests)))} | {candles.Count(r => r.Status == 429)} | {candles.Count(r => r.Status == 418)} | {twice} | {(verified ? "yes" : "NO")} | " +
            $"{wall.Elapsed.TotalSeconds:0.0} s | {busy:P0} | {string.Join(' ', load)} |");
        return (row, verified);
    }

    private static string OwnRate(List<RecordedRequest> requests) =>
        requests.Count < 2 ? "n/a" : ArrivalPace.Rate(requests).ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>Seconds from the process start to its first request, in gaps longer than <see cref="IdleGap"/> between its requests, and from its last request to its exit.</summary>
    private static string Idle(Scraper scraper, List<RecordedRequest> requests)
    {
        if (requests.Count == 0) return "no requests";
        var gaps = requests.Skip(1).Select((r, i) => r.At - requests[i].At).Where(g => g > IdleGap).Sum(g => g.TotalSeconds);
        return string.Create(CultureInfo.InvariantCulture, $"{(requests[0].At - scraper.Started).TotalSeconds:0.0}/{gaps:0.0}/{(scraper.Exited - requests[^1].At).TotalSeconds:0.0}");
    }

    /// <summary>The machine's CPU ticks, all and idle (idle + iowait), from /proc/stat.</summary>
    private static (long Total, long Idle) MachineCpu()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToList();
        return (fields.Take(8).Sum(), fields[3] + fields[4]);
    }
}
