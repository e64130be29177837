using System.Diagnostics;
using System.Globalization;
using Scraper.Domain;
using Scraper.Storage;
using Scraper.Storage.Copy;
using Scraper.Storage.Sqlite;
using Scraper.Storage.Postgres;
using Scraper.Tests.TestKit;
using Xunit.Abstractions;

namespace Scraper.Tests.Benchmarks;

/// <summary>
/// Sustained write throughput of the stores, durable commits (SQLite synchronous=FULL, PostgreSQL
/// synchronous_commit as the server is configured: on). Per response: 200-candle responses with
/// their coverage through SaveResponse, one transaction each, as the daemon writes (PostgreSQL also
/// with 8 and 25 concurrent writers, each its own series, as a fleet writes). Bulk: the copy verb's path,
/// blocks of 50,000 candles with their coverage, one transaction each. Prints one table with every
/// rate as a ratio of the PostgreSQL single-writer per-response rate measured in the same run.
/// BITCOIN_PRICE_SCRAPER_BENCH_SECONDS sets the time per case (default 20).
/// </summary>
public sealed class StoreWriteBenchmark(ITestOutputHelper output) : IAsyncLifetime
{
    private const int ResponseSize = 200;
    private const int BlockSize = 50_000;
    private static readonly DateTimeOffset Start = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly PostgresServer _server = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("bps-store-bench-").FullName;
    private readonly List<(string Store, string Path, int Writers, Result Result)> _rows = [];

    private sealed record Result(long Candles, TimeSpan Elapsed, List<double> LatenciesMs)
    {
        public double Rate => Candles / Elapsed.TotalSeconds;

        /// <summary>CPU seconds of this process (client: candles built and sent) and of the server's backends.</summary>
        public (double Client, double Server) Cpu { get; set; }

        /// <summary>
        /// The rate if the client and the server each had a core of their own and waited for nothing
        /// else: what a quiet 2-core machine approaches, since on a shared one wall time is mostly waiting for a core.
        /// </summary>
        public double CpuBoundRate => Candles / Math.Max(Cpu.Client, Cpu.Server);
    }

    private static TimeSpan Duration =>
        TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 20);

    public Task InitializeAsync() => Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH") == "1" ? _server.InitializeAsync() : Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [BenchFact]
    public async Task Sustained_candles_per_second_written_to_SQLite_and_PostgreSQL()
    {
        using (var sqlite = SqliteCandleStore.Open(Path.Combine(_dir, "candles.db"), TimeProvider.System))
            _rows.Add(("SQLite", "per response", 1, await MeasuredAsync(() => WriteAsync((s, c, r) => sqlite.SaveResponse(s, c, r), 1, ResponseSize))));
        using (var sqlite = SqliteCandleStore.Open(Path.Combine(_dir, "bulk.db"), TimeProvider.System))
            _rows.Add(("SQLite", "bulk block", 1, await MeasuredAsync(() => WriteAsync(new SaveResponseBulkWriter(sqlite).Write, 1, BlockSize))));

        if (!_server.Available)
        {
            output.WriteLine($"PostgreSQL skipped: {PostgresServer.SkipReason}");
            PrintTable();
            return;
        }
        // 25: the fleet of 25 scrapers at full rate, each writing its own responses.
        foreach (var writers in new[] { 1, 8, 25 })
        {
            using var pg = await OpenPostgresAsync();
            _rows.Add(("PostgreSQL", "per response", writers, await MeasuredAsync(() => WriteAsync((s, c, r) => pg.SaveResponse(s, c, r), writers, ResponseSize))));
        }
        using (var pg = await OpenPostgresAsync())
        {
            var fresh = await MeasuredAsync(() => WriteAsync(new PostgresBulkCopy(pg, TimeProvider.System).Write, 1, BlockSize));
            _rows.Add(("PostgreSQL", "bulk COPY, fresh ranges", 1, fresh));
            // The same blocks again: every candle is stored, so each block takes the staging table and upsert.
            _rows.Add(("PostgreSQL", "bulk COPY over stored candles", 1,
                await MeasuredAsync(() => WriteAsync(new PostgresBulkCopy(pg, TimeProvider.System).Write, 1, BlockSize, fresh.LatenciesMs.Count))));
        }
        using (var pg = await OpenPostgresAsync())
            _rows.Add(("PostgreSQL", "bulk COPY, fresh ranges", 2, await MeasuredAsync(() => WriteAsync(new PostgresBulkCopy(pg, TimeProvider.System).Write, 2, BlockSize))));

        // Not a configuration to run with: it shows how much of a response's time is the durable commit.
        var diagnostic = await _server.CreateDatabaseAsync();
        await _server.PsqlAsync(diagnostic, $"ALTER DATABASE {diagnostic} SET synchronous_commit = off");
        using (var pg = PostgresCandleStore.Open(PostgresConnectionSettings.Parse(_server.ConnectionString(diagnostic)), TimeProvider.System))
            _rows.Add(("PostgreSQL, synchronous_commit off (diagnostic only)", "per response", 1, await MeasuredAsync(() => WriteAsync((s, c, r) => pg.SaveResponse(s, c, r), 1, ResponseSize))));
        PrintTable();
    }

    private async Task<PostgresCandleStore> OpenPostgresAsync()
    {
        var db = await _server.CreateDatabaseAsync();
        return PostgresCandleStore.Open(PostgresConnectionSettings.Parse(_server.ConnectionString(db)), TimeProvider.System);
    }

    /// <summary>Runs <paramref name="write"/> and records the CPU time it took in this process and in the server.</summary>
    private async Task<Result> MeasuredAsync(Func<Task<Result>> write)
    {
        var server = _server.Available && _server.Port != 0 ? await ServerCpuAsync() : [];
        var client = Process.GetCurrentProcess().TotalProcessorTime;
        var result = await write();
        var clientSeconds = (Process.GetCurrentProcess().TotalProcessorTime - client).TotalSeconds;
        var serverSeconds = 0.0;
        if (_server.Available && _server.Port != 0)
            serverSeconds = (await ServerCpuAsync()).Sum(p => p.Value - server.GetValueOrDefault(p.Key));
        result.Cpu = (clientSeconds, serverSeconds);
        return result;
    }

    /// <summary>CPU seconds so far of every process of the server (backends, WAL writer, checkpointer), by pid, from /proc.</summary>
    private async Task<Dictionary<int, double>> ServerCpuAsync()
    {
        var pids = (await _server.PsqlAsync("postgres", "SELECT pid FROM pg_stat_activity")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var cpu = new Dictionary<int, double>();
        foreach (var pid in pids.Select(p => int.Parse(p, CultureInfo.InvariantCulture)))
        {
            try
            {
                var stat = await File.ReadAllTextAsync($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                cpu[pid] = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
            }
            catch (IOException)
            {
                // The process ended between the query and the read.
            }
        }
        return cpu;
    }

    private void PrintTable()
    {
        var baseline = _rows.FirstOrDefault(r => r is { Store: "PostgreSQL", Path: "per response", Writers: 1 }).Result ?? _rows[0].Result;
        output.WriteLine("| store | path | writers | candles/s | × PostgreSQL per response, 1 writer | per transaction p50 / p99 | CPU s client / server | CPU-bound candles/s |");
        output.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (store, path, writers, r) in _rows)
        {
            r.LatenciesMs.Sort();
            var p50 = r.LatenciesMs[r.LatenciesMs.Count / 2];
            var p99 = r.LatenciesMs[Math.Min(r.LatenciesMs.Count - 1, (int)(r.LatenciesMs.Count * 0.99))];
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {store} | {path} | {writers} | {r.Rate:N0} | {r.Rate / baseline.Rate:0.00} | {p50:0.0} / {p99:0.0} ms | {r.Cpu.Client:0.0} / {r.Cpu.Server:0.0} | {r.CpuBoundRate:N0} |"));
        }
    }

    /// <summary>Each writer saves consecutive blocks of <paramref name="size"/> candles of its own series, with their coverage, until the time is up.</summary>
    private static async Task<Result> WriteAsync(Action<SeriesKey, IReadOnlyList<Candle>, TimeRange?> save, int writers, int size, int maxBlocks = int.MaxValue)
    {
        var stopwatch = Stopwatch.StartNew();
        var latencies = new List<double>();
        // A thread of its own per writer (the saves block): on the thread pool, 25 blocking writers on
        // two cores would wait for the pool to grow and measure that instead of the store.
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Factory.StartNew(() =>
        {
            var series = new SeriesKey($"KRW-B{w:000}", CandleUnit.FromMinutes(1));
            var mine = new List<double>();
            long written = 0;
            for (var block = 0; block < maxBlocks && stopwatch.Elapsed < Duration; block++)
            {
                var from = Start.AddMinutes(block * size);
                var candles = Enumerable.Range(0, size).Select(i => Candle(series.Market, from.AddMinutes(i), block * size + i)).ToList();
                var began = Stopwatch.GetTimestamp();
                save(series, candles, new TimeRange(from, from.AddMinutes(size)));
                written += candles.Count;
                mine.Add(Stopwatch.GetElapsedTime(began).TotalMilliseconds);
            }
            lock (latencies) latencies.AddRange(mine);
            return written;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        var counts = await Task.WhenAll(tasks);
        return new Result(counts.Sum(), stopwatch.Elapsed, latencies);
    }

    private static Candle Candle(string market, DateTimeOffset start, int i)
    {
        var price = 170_359_000.12345678m + i;
        return new Candle(market, CandleUnit.FromMinutes(1), start,
            start.ToOffset(TimeSpan.FromHours(9)).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture),
            price, price + 1000m, price - 1000m, price + 500m, start.ToUnixTimeMilliseconds() + 59_000, 123_456_789.12345678m + i, 0.00012345m * (i % 97 + 1));
    }
}
