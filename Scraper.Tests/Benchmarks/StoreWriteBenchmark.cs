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
/// with 8 concurrent writers, each its own series, as a fleet writes). Bulk: the copy verb's path,
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
            _rows.Add(("SQLite", "per response", 1, await WriteAsync((s, c, r) => sqlite.SaveResponse(s, c, r), 1, ResponseSize)));
        using (var sqlite = SqliteCandleStore.Open(Path.Combine(_dir, "bulk.db"), TimeProvider.System))
            _rows.Add(("SQLite", "bulk block", 1, await WriteAsync(new SaveResponseBulkWriter(sqlite).Write, 1, BlockSize)));

        if (!_server.Available)
        {
            output.WriteLine($"PostgreSQL skipped: {PostgresServer.SkipReason}");
            PrintTable();
            return;
        }
        foreach (var writers in new[] { 1, 8 })
        {
            using var pg = await OpenPostgresAsync();
            _rows.Add(("PostgreSQL", "per response", writers, await WriteAsync((s, c, r) => pg.SaveResponse(s, c, r), writers, ResponseSize)));
        }
        using (var pg = await OpenPostgresAsync())
            _rows.Add(("PostgreSQL", "bulk COPY", 1, await WriteAsync(new PostgresBulkCopy(pg, TimeProvider.System).Write, 1, BlockSize)));
        using (var pg = await OpenPostgresAsync())
            _rows.Add(("PostgreSQL", "bulk COPY", 2, await WriteAsync(new PostgresBulkCopy(pg, TimeProvider.System).Write, 2, BlockSize)));

        // Not a configuration to run with: it shows how much of a response's time is the durable commit.
        var diagnostic = await _server.CreateDatabaseAsync();
        await _server.PsqlAsync(diagnostic, $"ALTER DATABASE {diagnostic} SET synchronous_commit = off");
        using (var pg = PostgresCandleStore.Open(PostgresConnectionSettings.Parse(_server.ConnectionString(diagnostic)), TimeProvider.System))
            _rows.Add(("PostgreSQL, synchronous_commit off (diagnostic only)", "per response", 1, await WriteAsync((s, c, r) => pg.SaveResponse(s, c, r), 1, ResponseSize)));
        PrintTable();
    }

    private async Task<PostgresCandleStore> OpenPostgresAsync()
    {
        var db = await _server.CreateDatabaseAsync();
        return PostgresCandleStore.Open(PostgresConnectionSettings.Parse(_server.ConnectionString(db)), TimeProvider.System);
    }

    private void PrintTable()
    {
        var baseline = _rows.FirstOrDefault(r => r is { Store: "PostgreSQL", Path: "per response", Writers: 1 }).Result ?? _rows[0].Result;
        output.WriteLine("| store | path | writers | candles/s | × PostgreSQL per response, 1 writer | per transaction p50 / p99 |");
        output.WriteLine("| --- | --- | ---: | ---: | ---: | ---: |");
        foreach (var (store, path, writers, r) in _rows)
        {
            r.LatenciesMs.Sort();
            var p50 = r.LatenciesMs[r.LatenciesMs.Count / 2];
            var p99 = r.LatenciesMs[Math.Min(r.LatenciesMs.Count - 1, (int)(r.LatenciesMs.Count * 0.99))];
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {store} | {path} | {writers} | {r.Rate:N0} | {r.Rate / baseline.Rate:0.00} | {p50:0.0} / {p99:0.0} ms |"));
        }
    }

    /// <summary>Each writer saves consecutive blocks of <paramref name="size"/> candles of its own series, with their coverage, until the time is up.</summary>
    private static async Task<Result> WriteAsync(Action<SeriesKey, IReadOnlyList<Candle>, TimeRange?> save, int writers, int size)
    {
        var stopwatch = Stopwatch.StartNew();
        var latencies = new List<double>();
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(() =>
        {
            var series = new SeriesKey($"KRW-B{w:000}", CandleUnit.FromMinutes(1));
            var mine = new List<double>();
            long written = 0;
            for (var block = 0; stopwatch.Elapsed < Duration; block++)
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
        })).ToArray();
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
