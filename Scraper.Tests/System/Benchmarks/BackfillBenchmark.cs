using System.Diagnostics;
using System.Globalization;
using System.Text;
using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Storage.Sqlite;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Xunit.Abstractions;

namespace Scraper.Tests.Benchmarks;

/// <summary>Runs only under `./build.sh bench` (BITCOIN_PRICE_SCRAPER_BENCH=1).</summary>
public sealed class BenchFactAttribute : FactAttribute
{
    /// <summary>Skips unless the bench run asked for it.</summary>
    public BenchFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH") != "1") Skip = "benchmark: run ./build.sh bench";
    }
}

/// <summary>One benchmark scenario: the fake's behaviour and the range to backfill.</summary>
public sealed record Scenario(string Name, int Markets, int Days, TimeSpan Latency, TimeSpan Jitter, RateLimitMode Limiter, double ErrorRate);

/// <summary>One measured row.</summary>
public sealed record BenchRow(string Client, Scenario Scenario, int Requests, double RequestsPerSecond, double SteadyPerSecond, long Candles, double CandlesPerSecond,
    int Count429, int Count418, int Retries, double CpuSecondsPer1000, long PeakRssKb, double WallSeconds, double FloorSeconds, bool Verified)
{
    /// <summary>The row as a markdown table line.</summary>
    public string Markdown() => string.Create(CultureInfo.InvariantCulture,
        $"| {Client} | {Scenario.Name} | {Requests} | {Rate()} | {(double.IsNaN(SteadyPerSecond) ? "n/a" : $"{SteadyPerSecond * 10:0.0}%")} | {(TooShort ? "n/a" : $"{CandlesPerSecond:0} / 2000")} | {Count429} | {Count418} | {Retries} | {CpuSecondsPer1000:0.00} | {PeakRssKb / 1024.0:0.0} MiB | {WallSeconds:0.0} s | {FloorSeconds:0.0} s | {(Verified ? "yes" : "NO")} |");

    /// <summary>A run of a few slices is too short to give a rate.</summary>
    private bool TooShort => Requests < 50;

    /// <summary>Requests per second between the first and the last request.</summary>
    private string Rate() => TooShort
        ? $"n/a ({Requests} requests)"
        : string.Create(CultureInfo.InvariantCulture, $"{RequestsPerSecond:0.00} / 10 ({RequestsPerSecond * 10:0.0}%)");
}

/// <summary>
/// How close the published daemon's `backfill` gets to the exchange's ceiling (10 candle requests/s,
/// 200 candles each: 2,000 candles/s) without being rate-limited, what it costs, and ccxt's
/// fetchOHLCV loop beside it — all against the same fake exchange on 127.0.0.1.
/// </summary>
public sealed class BackfillBenchmark(ITestOutputHelper output)
{
    private static readonly TimeSpan Ms20 = TimeSpan.FromMilliseconds(20);

    private static readonly Scenario[] Scenarios =
    [
        new("1 market x 30 d, 20 ms, sliding", 1, 30, Ms20, TimeSpan.Zero, RateLimitMode.SlidingWindow, 0),
        new("1 market x 2 d, 20 ms, sliding", 1, 2, Ms20, TimeSpan.Zero, RateLimitMode.SlidingWindow, 0),
        new("1 market x 21 d, 200 ms, sliding", 1, 21, TimeSpan.FromMilliseconds(200), TimeSpan.Zero, RateLimitMode.SlidingWindow, 0),
        new("1 market x 21 d, 1 s, sliding", 1, 21, TimeSpan.FromSeconds(1), TimeSpan.Zero, RateLimitMode.SlidingWindow, 0),
        new("1 market x 21 d, 20 ms, sliding, jitter 50 ms", 1, 21, Ms20, TimeSpan.FromMilliseconds(50), RateLimitMode.SlidingWindow, 0),
        new("1 market x 21 d, 1 s, sliding, jitter 50 ms", 1, 21, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(50), RateLimitMode.SlidingWindow, 0),
        new("1 market x 21 d, 20 ms, fixed bucket", 1, 21, Ms20, TimeSpan.Zero, RateLimitMode.FixedBucket, 0),
        new("1 market x 21 d, 1 s, fixed bucket", 1, 21, TimeSpan.FromSeconds(1), TimeSpan.Zero, RateLimitMode.FixedBucket, 0),
        new("1 market x 21 d, 20 ms, 5% errors", 1, 21, Ms20, TimeSpan.Zero, RateLimitMode.SlidingWindow, 0.05),
        new("20 markets x 2 d, 20 ms, sliding", 20, 2, Ms20, TimeSpan.Zero, RateLimitMode.SlidingWindow, 0),
        // The start-up cost weighs most on short backfills: 20 days (144 requests) and 60 days (432) at each latency.
        new("1 market x 20 d, 20 ms, sliding", 1, 20, Ms20, TimeSpan.Zero, RateLimitMode.SlidingWindow, 0),
        new("1 market x 20 d, 200 ms, sliding", 1, 20, TimeSpan.FromMilliseconds(200), TimeSpan.Zero, RateLimitMode.SlidingWindow, 0),
        new("1 market x 20 d, 1 s, sliding", 1, 20, TimeSpan.FromSeconds(1), TimeSpan.Zero, RateLimitMode.SlidingWindow, 0),
        new("1 market x 60 d, 20 ms, sliding", 1, 60, Ms20, TimeSpan.Zero, RateLimitMode.SlidingWindow, 0),
        new("1 market x 60 d, 200 ms, sliding", 1, 60, TimeSpan.FromMilliseconds(200), TimeSpan.Zero, RateLimitMode.SlidingWindow, 0),
        new("1 market x 60 d, 1 s, sliding", 1, 60, TimeSpan.FromSeconds(1), TimeSpan.Zero, RateLimitMode.SlidingWindow, 0),
        new("1 market x 60 d, 20 ms, fixed bucket", 1, 60, Ms20, TimeSpan.Zero, RateLimitMode.FixedBucket, 0),
    ];

    private static FakeExchangeOptions OptionsFor(Scenario s)
    {
        var random = new Random(5);
        var options = new FakeExchangeOptions
        {
            Latency = s.Latency, ArrivalJitter = s.Jitter, RateLimit = s.Limiter, BanAfter429s = 10,
            FaultInjector = s.ErrorRate > 0 ? r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal) && random.NextDouble() < s.ErrorRate ? FakeFault.Http503 : null : null,
        };
        return options;
    }

    private static IReadOnlyList<string> MarketsFor(Scenario s) =>
        s.Markets == 1 ? ["KRW-BTC"] : [.. Enumerable.Range(1, s.Markets).Select(i => $"KRW-C{i:000}")];

    /// <summary>Runs a command under /usr/bin/time: wall, user+system CPU seconds and peak RSS of exactly that process.</summary>
    private static async Task<(int Code, string Output, double Wall, double Cpu, long RssKb)> TimedAsync(string file, IEnumerable<string> args, string workingDirectory)
    {
        var timing = Path.GetTempFileName();
        var info = new ProcessStartInfo("/usr/bin/time") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-f", "%e %U %S %M", "-o", timing, file, .. args]) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        var f = (await File.ReadAllTextAsync(timing)).Trim().Split('\n')[^1].Split(' ');
        File.Delete(timing);
        double D(string x) => double.Parse(x, CultureInfo.InvariantCulture);
        return (p.ExitCode, await stdout + stderr, D(f[0]), D(f[1]) + D(f[2]), long.Parse(f[3], CultureInfo.InvariantCulture));
    }

    private static async Task<BenchRow> MeasureAsync(string client, Scenario s, BenchExchange exchange, (double Wall, double Cpu, long RssKb) t, long candles, bool verified)
    {
        var (count429, count418) = await exchange.RefusalsAsync();
        var requests = (await exchange.RequestsAsync()).Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)).OrderBy(r => r.At).ToList();
        var span = requests.Count > 1 ? (requests[^1].At - requests[0].At).TotalSeconds : 1;
        var distinct = requests.Select(r => r.Query).Distinct().Count();
        // Steady state: after the first 30 requests (slow start, first round trips booked at their answer),
        // over whole turns of the window's ten places (from one request to the one 10 × m later), so
        // that where the last slice happens to fall does not count.
        var turns = (requests.Count - 31) / 10;
        var steady = requests.Count > 60 ? 10.0 * turns / (requests[30 + 10 * turns].At - requests[30].At).TotalSeconds : double.NaN;
        return new BenchRow(client, s, requests.Count, (requests.Count - 1) / span, steady, candles, candles / span, count429, count418,
            requests.Count - distinct, t.Cpu / requests.Count * 1000, t.RssKb, t.Wall, requests.Count / 10.0, verified);
    }

    private async Task<BenchRow> RunOursAsync(Scenario s, string binary, string dir, string client = "bitcoin-price-scraper")
    {
        await using var exchange = await BenchExchange.StartAsync(s, OptionsFor(s));
        await WarmAsync(exchange);
        var pausedBefore = GC.GetTotalPauseDuration();
        var db = Path.Combine(dir, $"bench-{Guid.NewGuid():N}.db");
        var since = DateTimeOffset.UtcNow.AddDays(-s.Days);
        var markets = MarketsFor(s);
        var started = DateTimeOffset.UtcNow;
        var run = await TimedAsync(binary,
            ["backfill", "--upbit-url", exchange.BaseUrl.ToString().TrimEnd('/'), "--db", db, "--markets", string.Join(',', markets),
             "--since", since.UtcDateTime.ToString("o", CultureInfo.InvariantCulture), "--log-level", "Warning"], dir);
        var verified = run.Code == 0;
        long candles = 0;
        var end = DateTimeOffset.UtcNow;
        using (var store = SqliteCandleStore.Open(db, TimeProvider.System, readOnly: true))
        {
            foreach (var market in markets)
            {
                var series = new SeriesKey(market, CandleUnit.FromMinutes(1));
                var upTo = WindowPlanner.CoverableEnd(series, end) - series.Unit.Interval;
                var stored = store.ReadCandles(series, series.Unit.AlignDown(since), upTo).ToList();
                candles += store.CountCandles(series);
                verified &= stored.SequenceEqual(exchange.Data.ClosedCandles(market, series.Unit, series.Unit.AlignDown(since), upTo, end));
            }
        }
        if (!verified) output.WriteLine($"{s.Name}: exit {run.Code}\n{run.Output}");
        var requests = await exchange.RequestsAsync();
        var paused = exchange.Where == "in the test process" ? $"the fake's GC paused {(GC.GetTotalPauseDuration() - pausedBefore).TotalMilliseconds:0} ms" : "the fake ran in its own process";
        output.WriteLine($"{s.Name} ({client}): {TenArrivalSpans(requests)}; {paused}; {Gaps(requests, started, s)}; {Allowed(requests, s)}");
        if (Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH_TIMELINE") is { Length: > 0 } timeline && int.TryParse(timeline, CultureInfo.InvariantCulture, out var first))
            output.WriteLine(Timeline(requests, started, first));
        return await MeasureAsync(client, s, exchange, (run.Wall, run.Cpu, run.RssKb), candles, verified);
    }

    /// <summary>
    /// The rate the run could have had at best, for the table's bounds: a slice may arrive spread over
    /// the whole jitter, so the next must not reach the window before its last did (the jitter's bound);
    /// and the start sends one probe and waits for its answer before the first full slice, which costs
    /// its round trip as the fake measured it (the probe's bound: after the answer, slices of ten one
    /// window, plus the jitter, apart). And what a client reaches that reuses a place only once it has
    /// the answer that frees it (<see cref="AnswerWaitingBound"/>): at a latency near the window that
    /// bound is below the window's.
    /// </summary>
    private static string Allowed(IReadOnlyList<RecordedRequest> all, Scenario s)
    {
        var requests = all.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)).OrderBy(r => r.At).ToList();
        if (requests.Count < 12) return "too few requests for a bound";
        var spacing = 1 + s.Jitter.TotalSeconds;
        var probe = requests[0].AnsweredAt - requests[0].At;
        var after = requests.Count - 1;
        var span = probe.TotalSeconds + ((after + 9) / 10 - 1) * spacing;
        var jitter = s.Jitter > TimeSpan.Zero ? string.Create(CultureInfo.InvariantCulture, $"the jitter itself allows {100 / spacing:0.0}% of the rate; ") : "";
        return string.Create(CultureInfo.InvariantCulture, $"{jitter}with the probe's round trip ({probe.TotalMilliseconds:0} ms), {100.0 * after / span / 10:0.0}%; ")
            + AnswerWaitingBound.Describe(requests, TimeSpan.FromSeconds(1), 10);
    }

    /// <summary>
    /// A real exchange is warm: the fake's own first answer (its JIT, in this test process) must not
    /// be charged to the client measured. One page, then the fake's window drains and its log is cleared.
    /// </summary>
    private static async Task WarmAsync(BenchExchange exchange)
    {
        using var http = new HttpClient { BaseAddress = exchange.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        using (await http.GetAsync(new Uri("v1/candles/minutes/1?market=KRW-BTC&count=200", UriKind.Relative))) { }
        await Task.Delay(TimeSpan.FromMilliseconds(1100));
        await exchange.ClearRequestsAsync();
    }

    /// <summary>
    /// Where the pace goes (<see cref="ArrivalPace"/>, after 30 warm-up requests); with
    /// BITCOIN_PRICE_SCRAPER_BENCH_DUMP set, every candle request's receive, count and answer times
    /// (unix ms) and status are appended to that file for a closer look.
    /// </summary>
    private static string TenArrivalSpans(IReadOnlyList<RecordedRequest> requests)
    {
        if (Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH_DUMP") is { Length: > 0 } dump)
            File.AppendAllLines(dump, requests.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)).OrderBy(r => r.CountedAt)
                .Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.At.ToUnixTimeMilliseconds()} {r.CountedAt.ToUnixTimeMilliseconds()} {r.Status} {r.AnsweredAt.ToUnixTimeMilliseconds()}")));
        return ArrivalPace.Describe(requests, skip: 30);
    }

    /// <summary>
    /// Time from the process start to its first request; every pause between two candle requests
    /// longer than 1.1 s with its cause, from the fake's own times: a refusal or error answered within
    /// the gap; the exchange late to answer (a request answered more than 50 ms after its latency,
    /// within the gap); arrival jitter; or the client's own, with how long after the place came free
    /// it sent (the request ten before had been counted a window earlier and answered). The count of
    /// the client's own comes first.
    /// </summary>
    private static string Gaps(IReadOnlyList<RecordedRequest> all, DateTimeOffset started, Scenario s)
    {
        var requests = all.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)).OrderBy(r => r.At).ToList();
        if (requests.Count == 0) return "no requests";
        var gaps = Enumerable.Range(1, requests.Count - 1).Where(i => requests[i].At - requests[i - 1].At > TimeSpan.FromMilliseconds(1100))
            .Select(i => (Text: string.Create(CultureInfo.InvariantCulture, $"#{i + 1} {(requests[i].At - requests[i - 1].At).TotalMilliseconds:0} ms ({Cause(i)})"), Ours: Cause(i).StartsWith("the client", StringComparison.Ordinal)))
            .ToList();
        return string.Create(CultureInfo.InvariantCulture,
            $"first request {(requests[0].At - started).TotalMilliseconds:0} ms after start; gaps > 1.1 s: {gaps.Count}, the client's {gaps.Count(g => g.Ours)}: [{string.Join(", ", gaps.Select(g => g.Text))}]");

        string Cause(int i)
        {
            var at = requests[i].At;
            var within = requests.Take(i).Where(r => r.AnsweredAt <= at && r.AnsweredAt > requests[i - 1].At).ToList();
            if (within.FirstOrDefault(r => r.Status != 200) is { } refused) return $"after HTTP {refused.Status}";
            var late = within.Select(r => (Request: r, Late: r.AnsweredAt - r.CountedAt - s.Latency)).Where(x => x.Late > TimeSpan.FromMilliseconds(50)).OrderByDescending(x => x.Late).ToList();
            if (late.Count > 0) return string.Create(CultureInfo.InvariantCulture, $"the exchange answered #{requests.IndexOf(late[0].Request) + 1} {late[0].Late.TotalMilliseconds:0} ms late");
            if (s.Jitter > TimeSpan.Zero && requests[i - 1].CountedAt - requests[i - 1].At > TimeSpan.FromMilliseconds(10)) return "arrival jitter";
            // The start: the probe waits for its answer, and places count from their answers until 20 round trips are known.
            var start = i <= 20 ? " start" : "";
            if (i < 10) return "the client's start: the probe and the first places count from their answers";
            var place = requests[i - 10];
            var free = place.CountedAt + TimeSpan.FromSeconds(1) > place.AnsweredAt ? place.CountedAt + TimeSpan.FromSeconds(1) : place.AnsweredAt;
            return string.Create(CultureInfo.InvariantCulture, $"the client's{start}: sent {(at - free).TotalMilliseconds:0} ms after #{i - 9}'s place was free and answered");
        }
    }

    /// <summary>
    /// The first <paramref name="count"/> candle requests as the fake saw them, in ms since the process
    /// started: received (on loopback, about when sent), counted in the window (after any arrival
    /// jitter) and answered (its answer sent whole), with the gap to the request before;
    /// BITCOIN_PRICE_SCRAPER_BENCH_TIMELINE=40 prints it.
    /// </summary>
    private static string Timeline(IReadOnlyList<RecordedRequest> all, DateTimeOffset started, int count)
    {
        var requests = all.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)).OrderBy(r => r.At).Take(count).ToList();
        var text = new StringBuilder("  #   received  counted  answered  gap  status\n");
        for (var i = 0; i < requests.Count; i++)
        {
            var r = requests[i];
            double Ms(DateTimeOffset t) => (t - started).TotalMilliseconds;
            var gap = i == 0 ? 0 : (r.At - requests[i - 1].At).TotalMilliseconds;
            text.Append(CultureInfo.InvariantCulture, $"  {i + 1,-3} {Ms(r.At),8:0} {Ms(r.CountedAt),8:0} {Ms(r.AnsweredAt),9:0} {gap,5:0}  {r.Status}\n");
        }
        return text.ToString();
    }

    private async Task<BenchRow?> RunCcxtAsync(Scenario s, string dir)
    {
        var script = Path.Combine(Commands.RepoRoot, "Scraper.Tests", "System", "Benchmarks", "ccxt", "fetch-ohlcv.js");
        if (!Directory.Exists(Path.Combine(Path.GetDirectoryName(script)!, "node_modules", "ccxt"))) return null;
        await using var exchange = await BenchExchange.StartAsync(s, OptionsFor(s));
        await WarmAsync(exchange);
        var since = DateTimeOffset.UtcNow.AddDays(-s.Days);
        var run = await TimedAsync("node", [script, exchange.BaseUrl.ToString().TrimEnd('/'), since.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)], dir);
        var lines = run.Output.Split('\n');
        var candles = lines.Where(l => l.StartsWith("candles ", StringComparison.Ordinal)).Select(l => long.Parse(l[8..], CultureInfo.InvariantCulture)).FirstOrDefault();
        if (run.Code != 0) output.WriteLine($"ccxt {s.Name}: exit {run.Code}\n{run.Output[..Math.Min(2000, run.Output.Length)]}");
        var series = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(1));
        var expected = exchange.Data.ClosedCandles("KRW-BTC", series.Unit, series.Unit.AlignDown(since), WindowPlanner.ClosedEnd(series, DateTimeOffset.UtcNow), DateTimeOffset.UtcNow).Count;
        return await MeasureAsync("ccxt " + CcxtVersion(), s, exchange, (run.Wall, run.Cpu, run.RssKb), candles, run.Code == 0 && candles >= expected - 2);
    }

    private static string CcxtVersion()
    {
        var package = Path.Combine(Commands.RepoRoot, "Scraper.Tests", "System", "Benchmarks", "ccxt", "node_modules", "ccxt", "package.json");
        return File.Exists(package) ? System.Text.Json.JsonDocument.Parse(File.ReadAllText(package)).RootElement.GetProperty("version").GetString() ?? "" : "";
    }

    [BenchFact]
    public async Task Backfill_against_the_rate_ceiling()
    {
        var binary = Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BIN") is { Length: > 0 } b ? b : Path.Combine(Commands.RepoRoot, "dist", "publish", "bitcoin-price-scraper");
        Assert.True(File.Exists(binary), binary + " missing: run ./build.sh publish");
        var dir = Directory.CreateTempSubdirectory("bps-bench-").FullName;
        var rows = new List<BenchRow>();
        var total = Stopwatch.StartNew();
        // BITCOIN_PRICE_SCRAPER_BENCH_ONLY="30 d|2 d" runs only the scenarios whose names contain one of the parts.
        var only = Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH_ONLY")?.Split('|', StringSplitOptions.RemoveEmptyEntries);
        foreach (var s in Scenarios.Where(x => only is null || only.Any(o => x.Name.Contains(o, StringComparison.Ordinal))))
        {
            var row = await RunOursAsync(s, binary, dir);
            rows.Add(row);
            output.WriteLine(row.Markdown());
            if (s.Markets == 1 && s.Days == 21 && s.Latency == Ms20 && s.Limiter == RateLimitMode.SlidingWindow && s.ErrorRate == 0 && await RunCcxtAsync(s, dir) is { } ccxt)
            {
                rows.Add(ccxt);
                output.WriteLine(ccxt.Markdown());
            }
        }

        // Readiness: process start to /healthz answering, for the daemon.
        await using var fake = await FakeUpbitExchange.StartAsync();
        var readiness = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var port = ScraperProcess.FreePort();
            var sw = Stopwatch.StartNew();
            using var daemon = ScraperProcess.Start(["run", "--upbit-url", fake.BaseUrl.ToString().TrimEnd('/'), "--db", Path.Combine(dir, $"r{i}.db"), "--listen", $"127.0.0.1:{port}", "--since", "1h"], binary: binary);
            await daemon.WaitForHealthyAsync(port, TimeSpan.FromSeconds(10));
            readiness.Add(sw.Elapsed.TotalMilliseconds);
            await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10));
        }

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Benchmark {DateTimeOffset.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores ({File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim()}), total {total.Elapsed.TotalMinutes:0.0} min");
        report.AppendLine();
        report.AppendLine("| client | scenario | requests | requests/s vs allowed | steady state | candles/s vs ceiling | 429 | 418 | retries | CPU s / 1000 req | peak RSS | wall | floor | verified |");
        report.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in rows) report.AppendLine(r.Markdown());
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Readiness (start to /healthz): {string.Join(", ", readiness.Select(r => r.ToString("0", CultureInfo.InvariantCulture)))} ms");
        var ours = rows.Where(r => r.Client == "bitcoin-price-scraper").ToList();
        if (ours.FirstOrDefault(r => r.Scenario.Days == 30) is { } r30 && ours.FirstOrDefault(r => r.Scenario.Days == 2 && r.Scenario.Markets == 1) is { } r2)
            report.AppendLine(CultureInfo.InvariantCulture, $"Peak RSS 30 d / 2 d: {r30.PeakRssKb / 1024.0:0.0} / {r2.PeakRssKb / 1024.0:0.0} MiB = {(double)r30.PeakRssKb / r2.PeakRssKb:0.00}");
        var text = report.ToString();
        output.WriteLine(text);
        var outDir = Path.Combine(Commands.RepoRoot, "dist", "bench");
        Directory.CreateDirectory(outDir);
        await File.WriteAllTextAsync(Path.Combine(outDir, "results.md"), text);

        Assert.All(ours, r => Assert.True(r.Verified, r.Scenario.Name + " did not verify"));
    }

    /// <summary>
    /// Two binaries on the same scenarios, alternately (baseline, candidate, baseline, …), so that a
    /// busy machine weighs on both alike: compare their medians, not figures from different hours.
    /// BITCOIN_PRICE_SCRAPER_BENCH_BASELINE names the baseline, BITCOIN_PRICE_SCRAPER_BENCH_ROUNDS the rounds (3).
    /// </summary>
    [CompareFact]
    public async Task Baseline_and_candidate_alternately()
    {
        var candidate = Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BIN") is { Length: > 0 } b ? b : Path.Combine(Commands.RepoRoot, "dist", "publish", "bitcoin-price-scraper");
        var baseline = Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH_BASELINE")!;
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH_ROUNDS"), CultureInfo.InvariantCulture, out var n) ? n : 3;
        var only = Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH_ONLY")?.Split('|', StringSplitOptions.RemoveEmptyEntries);
        var dir = Directory.CreateTempSubdirectory("bps-compare-").FullName;
        var report = new StringBuilder();
        report.AppendLine("| scenario | client | requests/s vs allowed (median) | steady state (median) | CPU s / 1000 req (median) | peak RSS (median) | 429 | 418 | runs |");
        report.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var s in Scenarios.Where(x => only is null || only.Any(o => x.Name.Contains(o, StringComparison.Ordinal))))
        {
            var rows = new List<BenchRow>();
            for (var i = 0; i < rounds; i++)
            {
                foreach (var (client, binary) in (i % 2 == 0 ? [("baseline", baseline), ("candidate", candidate)] : new[] { ("candidate", candidate), ("baseline", baseline) }))
                {
                    var row = await RunOursAsync(s, binary, dir, client);
                    rows.Add(row);
                    output.WriteLine(row.Markdown());
                }
            }
            foreach (var group in rows.GroupBy(r => r.Client).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                static double Median(IEnumerable<double> xs) { var l = xs.Order().ToList(); return l[l.Count / 2]; }
                report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {s.Name} | {group.Key} | {Median(group.Select(r => r.RequestsPerSecond)) * 10:0.0}% | {Median(group.Select(r => r.SteadyPerSecond)) * 10:0.0}% | {Median(group.Select(r => r.CpuSecondsPer1000)):0.00} | {Median(group.Select(r => (double)r.PeakRssKb)) / 1024:0.0} MiB | {group.Sum(r => r.Count429)} | {group.Sum(r => r.Count418)} | {group.Count()} |"));
            }
        }
        output.WriteLine(report.ToString());
        Assert.All(new[] { baseline, candidate }, f => Assert.True(File.Exists(f), f));
    }
}

/// <summary>Runs only when a baseline binary is named (BITCOIN_PRICE_SCRAPER_BENCH_BASELINE).</summary>
public sealed class CompareFactAttribute : FactAttribute
{
    /// <summary>Skips unless a comparison was asked for.</summary>
    public CompareFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH_BASELINE") is not { Length: > 0 }) Skip = "comparison: set BITCOIN_PRICE_SCRAPER_BENCH_BASELINE to a baseline binary";
    }
}
