using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Scraper.Domain;
using Scraper.Pipeline.Live;
using Scraper.Storage;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Xunit.Abstractions;

namespace Scraper.Tests.Benchmarks;

/// <summary>One live-following run as measured.</summary>
internal sealed record LiveRow(string Mode, string Setup, IReadOnlyList<double> LagSeconds, int LagExpected, double RestPerMinute, string RestWindow, double ScheduledPerMinute, int StartRequests, double StartSeconds,
    double TickerPerMinute, double BackfillPerSecond, double AlonePerSecond, int Backfill429, double CpuPercent, long RssKb, long PeakRssKb, long StartPeakRssKb, double FakeCpuPercent, double StreamMessagesPerSecond, string DaemonHistogram)
{
    /// <summary>The value at quantile <paramref name="q"/> of the measured lags (nearest rank).</summary>
    public double Lag(double q) => LagSeconds.Count == 0 ? double.NaN : LagSeconds[Math.Max(0, (int)Math.Ceiling(q * LagSeconds.Count) - 1)];
}

/// <summary>
/// The published daemon following 400 markets live against the fake exchange (30 ms latency; in a
/// process of its own when built, like the backfill benchmark's, so that its stalls under the
/// stream's load are not charged to the backfill beside): over
/// the stream (units 1, 3, 5, 15) and, beside it, by polling (unit 1), each with a 30-day `backfill`
/// of another market started on the same IP once following is steady. Measures the live lag of the
/// 1-minute candles, the REST requests following costs, the share of the rate the backfill gets,
/// and the daemon's CPU and memory.
/// </summary>
/// <remarks>
/// Lag is exact per candle: for every 1-minute interval closing in the window, the store's
/// <c>fetched_at</c> (the daemon's clock when it wrote the row) of the first row holding the
/// interval's final values written at or after its close, minus the close. The store is read every
/// 250 ms, more often than the daemon rewrites a closed candle.
/// </remarks>
public sealed class LiveBenchmark(ITestOutputHelper output)
{
    private const string Other = "KRW-BTC";
    private static readonly int MarketCount = int.TryParse(Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH_LIVE_MARKETS"), out var m) ? m : 400;
    private static readonly string[] Followed = [.. Enumerable.Range(1, MarketCount).Select(i => $"KRW-L{i:000}")];
    private string _fakeWhere = "";

    [BenchFact]
    public async Task Live_following_over_the_stream_beside_polling()
    {
        var binary = Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BIN") is { Length: > 0 } b ? b : ScraperProcess.BinaryPath;
        Assert.True(File.Exists(binary), binary + " missing: run ./build.sh publish");
        var dir = Directory.CreateTempSubdirectory("bps-live-").FullName;
        Directory.CreateDirectory(Path.Combine(Commands.RepoRoot, "dist", "bench"));
        var total = Stopwatch.StartNew();
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        // BITCOIN_PRICE_SCRAPER_BENCH_LIVE_MODES=stream leaves the polling row out (a re-measurement of the stream alone).
        var rows = new List<LiveRow> { await RunAsync("stream", [1, 3, 5, 15], closes: 2, grace: TimeSpan.FromSeconds(20), binary, dir) };
        if (Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH_LIVE_MODES") != "stream")
            rows.Add(await RunAsync("poll", [1], closes: 2, grace: TimeSpan.FromSeconds(75), binary, dir));

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Live benchmark {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm}, {Environment.ProcessorCount} cores, load average {load} at start / {File.ReadAllText("/proc/loadavg").Split(' ')[0]} at end, total {total.Elapsed.TotalMinutes:0.0} min, {binary}");
        report.AppendLine();
        report.AppendLine("| mode | followed | 1m lag p50 / p99 / max | candles (of expected) | REST candle req/min steady (scheduled) | start: candle requests, s | ticker req/min | 30 d backfill beside (alone before): req/s vs allowed | 429 | daemon CPU | RSS / peak while following / peak at start | fake exchange CPU, stream msg/s |");
        report.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in rows)
        {
            report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Mode} | {r.Setup} | {r.Lag(0.5):0.00} / {r.Lag(0.99):0.00} / {r.Lag(1):0.00} s | {r.LagSeconds.Count} ({r.LagExpected}) | {r.RestPerMinute:0.0} ({(double.IsNaN(r.ScheduledPerMinute) ? "n/a" : r.ScheduledPerMinute.ToString("0.0", CultureInfo.InvariantCulture))}) | {r.StartRequests}, {r.StartSeconds:0} s | {r.TickerPerMinute:0} | {r.BackfillPerSecond:0.00} / 10 ({r.BackfillPerSecond * 10:0.0}%; alone {r.AlonePerSecond * 10:0.0}%) | {r.Backfill429} | {r.CpuPercent:0.0}% | {r.RssKb / 1024.0:0.0} / {r.PeakRssKb / 1024.0:0.0} / {r.StartPeakRssKb / 1024.0:0.0} MiB | {r.FakeCpuPercent:0}%, {r.StreamMessagesPerSecond:0} |"));
        }
        var s = rows[0];
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"The fake exchange ran {_fakeWhere}. Daemon's own lag histogram (stream): {s.DaemonHistogram}");
        foreach (var r in rows) report.AppendLine(CultureInfo.InvariantCulture, $"REST candle requests of the daemon in the {r.Mode} window: {r.RestWindow}");
        report.AppendLine("Scheduled: the periodic reconciliation (--reconcile-every 3h, longer units proportionally, at most daily) as the daemon plans it, one request per series and pass; start: the backfill, the reconciliation after connecting and its follow-up.");
        report.AppendLine("Targets (stream, " + s.Setup + "):");
        report.AppendLine(Target($"1m lag p99 {s.Lag(0.99):0.00} s", s.Lag(0.99) < 2 && s.LagSeconds.Count == s.LagExpected, "< 2 s, every candle"));
        report.AppendLine(Target($"REST candle requests {s.RestPerMinute:0.0}/min steady in the window, {s.ScheduledPerMinute:0.0}/min scheduled", Math.Max(s.RestPerMinute, s.ScheduledPerMinute) < 5, "< 5/min"));
        report.AppendLine(Target($"backfill beside {s.BackfillPerSecond * 10:0.0}% of the allowed rate (alone, before the daemon started: {s.AlonePerSecond * 10:0.0}%)", s.BackfillPerSecond >= 9.5, ">= 95%"));
        report.AppendLine(Target($"peak RSS while following {s.PeakRssKb / 1024.0:0.0} MiB (at the start, before: {s.StartPeakRssKb / 1024.0:0.0} MiB)", s.PeakRssKb < 60 * 1024, "< 60 MB"));
        report.AppendLine(Target($"CPU {s.CpuPercent:0.0}% of one core", s.CpuPercent < 5, "< 5%"));
        var text = report.ToString();
        output.WriteLine(text);
        var outDir = Path.Combine(Commands.RepoRoot, "dist", "bench");
        Directory.CreateDirectory(outDir);
        await File.WriteAllTextAsync(Path.Combine(outDir, "live.md"), text);
    }

    private static string Target(string measured, bool met, string target) => $"- {measured}: target {target}: {(met ? "met" : "MISSED")}";

    private async Task<LiveRow> RunAsync(string mode, int[] units, int closes, TimeSpan grace, string binary, string dir)
    {
        await using var exchange = await BenchExchange.StartForFollowingAsync(MarketCount, TimeSpan.FromMilliseconds(30));
        _fakeWhere = exchange.Where;
        var db = Path.Combine(dir, $"live-{mode}.db");
        // The same backfill alone first, against the same exchange: what it gets with nobody beside it.
        var alone = await BackfillAsync(exchange, Path.Combine(dir, $"alone-{mode}.db"), binary);
        await exchange.ClearRequestsAsync();
        var port = ScraperProcess.FreePort();
        var started = DateTimeOffset.UtcNow;
        using var daemon = ScraperProcess.Start(
            ["run", "--upbit-url", exchange.BaseUrl.ToString().TrimEnd('/'), "--db", db, "--listen", $"127.0.0.1:{port}", "--markets", string.Join(',', Followed),
             "--units", string.Join(',', units), "--since", "10m", "--live", mode, "--log-level", "Warning"], binary: binary);
        var series = Followed.Length * units.Length;
        await WaitAsync(daemon, port, x => x.Split('\n').Count(l => l.StartsWith("scraper_following{", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal)) >= series,
            TimeSpan.FromMinutes(8), "follow every series");
        // The reconciliation after connecting and its follow-ups belong to the start. A unit's
        // follow-ups are due one of its intervals after the close before the connection (up to 15
        // minutes for the 15-minute series): wait for the last of them, then until the daemon's REST goes quiet.
        // A reconnection (a stall on a busy machine) schedules follow-ups of its own: wait for those of the last one.
        var connections = 0;
        while (mode == "stream" && (await exchange.StreamAsync()).AcceptedAt is { } accepted && accepted.Count > connections)
        {
            connections = accepted.Count;
            // The daemon's first follow-up may leave a little after it is due: 10 s later its pass is surely under way.
            var lastFollowUp = units.Select(CandleUnit.FromMinutes).Max(u => u.AlignDown(accepted[^1]) + u.Interval) + new LiveOptions().AfterClose + TimeSpan.FromSeconds(10);
            if (lastFollowUp > DateTimeOffset.UtcNow) await Task.Delay(lastFollowUp - DateTimeOffset.UtcNow);
            await QuietAsync(exchange, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(5));
        }
        var steadyFrom = DateTimeOffset.UtcNow;
        // The start (backfilling every series, connecting, reconciling) has a peak of its own; the
        // peak while following is measured from here.
        var startPeak = Memory(daemon.Pid).Peak;
        ResetPeak(daemon.Pid);
        var startRequests = (await exchange.RequestsAsync()).Count(r => IsDaemonCandleRequest(r) && r.At < steadyFrom);
        var cpuBefore = CpuSeconds(daemon.Pid);
        var fakeCpuBefore = CpuSeconds(exchange.Pid);
        var sentBefore = (await exchange.StreamAsync()).Sent;
        var clock = Stopwatch.StartNew();

        var backfill = StartBackfill(exchange, Path.Combine(dir, $"other-{mode}.db"), binary);
        var unit = CandleUnit.FromMinutes(1);
        var firstClose = unit.AlignDown(steadyFrom) + unit.Interval;
        var lags = await TrackLagAsync(exchange.Data, db, firstClose, firstClose + (closes - 1) * unit.Interval, grace, daemon);
        var backfillCode = await backfill.WaitForExitAsync(TimeSpan.FromMinutes(5));
        Assert.True(backfillCode == 0, "backfill beside: exit " + backfillCode + " " + backfill.Stderr);

        var wall = clock.Elapsed.TotalSeconds;
        var steadyTo = DateTimeOffset.UtcNow;
        var cpu = (CpuSeconds(daemon.Pid) - cpuBefore) / wall * 100;
        var fakeCpu = (CpuSeconds(exchange.Pid) - fakeCpuBefore) / wall * 100;
        var stream = await exchange.StreamAsync();
        var sent = (stream.Sent - sentBefore) / wall;
        var (rss, peak) = Memory(daemon.Pid);
        var metrics = await DaemonHarness.ScrapeAsync(port);
        var lagCount = DaemonHarness.Sample(metrics, "scraper_live_lag_seconds_count") ?? 0;
        var histogram = string.Create(CultureInfo.InvariantCulture, $"{lagCount:0} candles, mean {(DaemonHarness.Sample(metrics, "scraper_live_lag_seconds_sum") ?? 0) / Math.Max(1, lagCount):0.00} s");
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));
        backfill.Dispose();

        var requests = await exchange.RequestsAsync();
        // Every request as the exchange saw it, and the connections, for a look at what the window held.
        await File.WriteAllLinesAsync(Path.Combine(Commands.RepoRoot, "dist", "bench", $"live-requests-{mode}.tsv"),
            [.. stream.AcceptedAt.Select(a => $"{a:O}\tconnected"), $"{steadyFrom:O}\twindow from", $"{steadyTo:O}\twindow to",
             .. requests.Select(r => $"{r.At:O}\t{r.Status}\t{r.Path}?{r.Query}")]);
        var other = requests.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal) && r.Query.Contains("market=" + Other, StringComparison.Ordinal)).OrderBy(r => r.At).ToList();
        var backfillRate = ArrivalPace.Rate(other);
        var tickers = requests.Count(r => r.Path.StartsWith("/v1/ticker", StringComparison.Ordinal) && r.At >= steadyFrom && r.At < steadyTo);
        var window = requests.Where(r => IsDaemonCandleRequest(r) && r.At >= steadyFrom && r.At < steadyTo).ToList();
        var followUps = mode == "stream" ? stream.AcceptedAt.SelectMany(at => ConnectFollowUps(requests, at, steadyFrom, steadyTo)).Distinct().Count() : 0;
        var byUnit = string.Join(", ", window.GroupBy(r => r.Path[(r.Path.LastIndexOf('/') + 1)..]).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}m: {g.Count()}"));
        var scheduled = mode == "stream" ? units.Sum(u => Followed.Length / new LiveOptions().ReconcilePeriod(CandleUnit.FromMinutes(u)).TotalMinutes) : double.NaN;
        var row = new LiveRow(mode, $"{Followed.Length} x {string.Join(',', units)}", lags, Followed.Length * closes - NoTrade(exchange.Data, firstClose, closes),
            (window.Count - followUps) / (wall / 60), $"{window.Count} in {wall:0} s ({byUnit}; {followUps} connect follow-ups; {stream.AcceptedAt.Count} stream connections, {stream.AcceptedAt.Count(a => a >= steadyFrom)} in the window)", scheduled, startRequests + followUps, (steadyFrom - started).TotalSeconds, tickers / (wall / 60),
            backfillRate, alone, other.Count(r => r.Status == 429), cpu, rss, peak, startPeak, fakeCpu, sent, histogram);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{mode}: steady window {wall:0} s, {ArrivalPace.Describe(other, skip: 10)}"));
        return row;
    }

    private static ScraperProcess StartBackfill(BenchExchange exchange, string db, string binary) =>
        ScraperProcess.Start(["backfill", "--upbit-url", exchange.BaseUrl.ToString().TrimEnd('/'), "--db", db, "--markets", Other, "--since", "30d", "--log-level", "Warning"], binary: binary);

    /// <summary>The 30-day backfill alone: its rate as the exchange saw its requests arrive.</summary>
    private async Task<double> BackfillAsync(BenchExchange exchange, string db, string binary)
    {
        using var backfill = StartBackfill(exchange, db, binary);
        var code = await backfill.WaitForExitAsync(TimeSpan.FromMinutes(5));
        Assert.True(code == 0, "backfill alone: exit " + code + " " + backfill.Stderr);
        var requests = (await exchange.RequestsAsync()).Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)).OrderBy(r => r.At).ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"backfill alone: {ArrivalPace.Describe(requests, skip: 10)}"));
        return ArrivalPace.Rate(requests);
    }

    /// <summary>1-minute intervals of the window that have no candle at all (no trades): nothing to store.</summary>
    private static int NoTrade(FakeMarketData data, DateTimeOffset firstClose, int closes)
    {
        var unit = CandleUnit.FromMinutes(1);
        return Followed.Sum(mk => Enumerable.Range(0, closes).Count(i => data.CandleAt(mk, unit, firstClose + (i - 1) * unit.Interval, DateTimeOffset.UtcNow) is null));
    }

    /// <summary>
    /// Reads the store every 250 ms until every 1-minute interval closing in [first, last] holds its
    /// final values written at or after its close, or <paramref name="grace"/> after the last close.
    /// </summary>
    private static async Task<IReadOnlyList<double>> TrackLagAsync(FakeMarketData data, string db, DateTimeOffset first, DateTimeOffset last, TimeSpan grace, ScraperProcess daemon)
    {
        var unit = CandleUnit.FromMinutes(1);
        var pending = new Dictionary<(string, DateTimeOffset), Candle>();
        var lags = new List<double>();
        using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var query = connection.CreateCommand();
        query.CommandText = "SELECT market, candle_date_time_utc, timestamp, candle_acc_trade_volume, fetched_at FROM candles WHERE unit = '1' AND candle_date_time_utc >= $from AND candle_date_time_utc <= $to";
        query.Parameters.AddWithValue("$from", StoredText.Instant(first - unit.Interval));
        query.Parameters.AddWithValue("$to", StoredText.Instant(last - unit.Interval));
        var added = first;
        while (DateTimeOffset.UtcNow < last + grace && (pending.Count > 0 || added <= last))
        {
            Assert.False(daemon.HasExited, "daemon exited: " + daemon.Stderr);
            for (; added <= last && added <= DateTimeOffset.UtcNow; added += unit.Interval)
            {
                foreach (var mk in Followed)
                    if (data.CandleAt(mk, unit, added - unit.Interval, DateTimeOffset.UtcNow) is { } c) pending[(mk, c.StartUtc)] = c;
            }
            using (var reader = query.ExecuteReader())
            {
                while (reader.Read())
                {
                    var key = (reader.GetString(0), StoredText.ParseInstant(reader.GetString(1)));
                    var fetched = DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
                    if (!pending.TryGetValue(key, out var c) || fetched < c.EndUtc || reader.GetInt64(2) != c.Timestamp
                        || decimal.Parse(reader.GetString(3), CultureInfo.InvariantCulture) != c.AccTradeVolume) continue;
                    lags.Add((fetched - c.EndUtc).TotalSeconds);
                    pending.Remove(key);
                }
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
        lags.Sort();
        return lags;
    }

    /// <summary>
    /// The requests in [from, to) that are the follow-up of the reconciliation after a connection (start
    /// cost, of any unit): per series, its first request after that reconciliation's once the
    /// follow-up is due, one of its unit's intervals after the close before the connection. Every other request of a
    /// series in the window, its periodic reconciliation included, is steady cost.
    /// </summary>
    private static IEnumerable<RecordedRequest> ConnectFollowUps(IReadOnlyList<RecordedRequest> requests, DateTimeOffset connected, DateTimeOffset from, DateTimeOffset to) =>
        requests.Where(r => IsDaemonCandleRequest(r) && r.Status == 200 && r.At >= connected)
            .GroupBy(r => (r.Path, Market: Market(r)))
            .Select(series =>
            {
                var unit = CandleUnit.FromMinutes(int.Parse(series.Key.Path[(series.Key.Path.LastIndexOf('/') + 1)..], CultureInfo.InvariantCulture));
                var due = unit.AlignDown(connected) + unit.Interval;
                return series.OrderBy(r => r.At).Skip(1).FirstOrDefault(r => r.At >= due);
            })
            .OfType<RecordedRequest>().Where(r => r.At >= from && r.At < to);

    /// <summary>Waits until the daemon sent no candle request for <paramref name="quiet"/> (before the backfill beside starts).</summary>
    private static async Task QuietAsync(BenchExchange exchange, TimeSpan quiet, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (DateTimeOffset.UtcNow - await exchange.LastCandleRequestAsync() >= quiet) return;
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    private static async Task WaitAsync(ScraperProcess daemon, int port, Func<string, bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            Assert.False(daemon.HasExited, "daemon exited: " + daemon.Stderr);
            try
            {
                if (condition(await DaemonHarness.ScrapeAsync(port))) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { } // not up yet
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        throw new TimeoutException($"the daemon did not {what} within {timeout.TotalSeconds:0} s: {daemon.Stderr}");
    }

    private static string Market(RecordedRequest r) => r.Query.Split('&').First(q => q.StartsWith("market=", StringComparison.Ordinal))[7..];

    private static bool IsDaemonCandleRequest(RecordedRequest r) =>
        r.Path.StartsWith("/v1/candles", StringComparison.Ordinal) && !r.Query.Contains("market=" + Other, StringComparison.Ordinal);

    /// <summary>User + system CPU seconds of a process (/proc/PID/stat, clock ticks of 1/100 s).</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>Starts the peak resident set (VmHWM) afresh from the current one (proc(5), clear_refs).</summary>
    private static void ResetPeak(int pid) => File.WriteAllText($"/proc/{pid}/clear_refs", "5");

    /// <summary>Resident and peak resident set in KiB (/proc/PID/status VmRSS, VmHWM).</summary>
    private static (long Rss, long Peak) Memory(int pid)
    {
        var lines = File.ReadAllLines($"/proc/{pid}/status");
        long Kb(string name) => long.Parse(lines.First(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return (Kb("VmRSS"), Kb("VmHWM"));
    }
}
