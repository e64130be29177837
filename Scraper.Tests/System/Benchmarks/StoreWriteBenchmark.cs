using System.Diagnostics;
using System.Globalization;
using Scraper.Domain;
using Scraper.Storage;
using Scraper.Storage.Sqlite;
using Scraper.Storage.Postgres;
using Scraper.Tests.TestKit;
using Xunit.Abstractions;

namespace Scraper.Tests.Benchmarks;

/// <summary>
/// Sustained write throughput of the stores: 200-candle responses with their coverage through
/// SaveResponse, one transaction each, durable commits (SQLite synchronous=FULL, PostgreSQL
/// synchronous_commit on). PostgreSQL also with several concurrent writers, each its own series,
/// as a fleet of scrapers writes. BITCOIN_PRICE_SCRAPER_BENCH_SECONDS sets the time per case (default 20).
/// </summary>
public sealed class StoreWriteBenchmark(ITestOutputHelper output) : IAsyncLifetime
{
    private const int ResponseSize = 200;
    private static readonly DateTimeOffset Start = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly PostgresServer _server = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("bps-store-bench-").FullName;

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
            Report("SQLite, 1 writer", await WriteAsync(sqlite, writers: 1));

        if (!_server.Available)
        {
            output.WriteLine($"PostgreSQL skipped: {PostgresServer.SkipReason}");
            return;
        }
        foreach (var writers in new[] { 1, 8 })
        {
            var db = await _server.CreateDatabaseAsync();
            using var pg = PostgresCandleStore.Open(PostgresConnectionSettings.Parse(_server.ConnectionString(db)), TimeProvider.System);
            Report($"PostgreSQL, {writers} writer(s)", await WriteAsync(pg, writers));
            output.WriteLine($"  rows in the database: {await _server.PsqlAsync(db, "SELECT count(*) FROM candles")}, size {await _server.PsqlAsync(db, "SELECT pg_size_pretty(pg_database_size(current_database()))")}");
        }

        // Not a configuration to run with: it shows how much of a response's time is the durable commit.
        var diagnostic = await _server.CreateDatabaseAsync();
        await _server.PsqlAsync(diagnostic, $"ALTER DATABASE {diagnostic} SET synchronous_commit = off");
        using (var pg = PostgresCandleStore.Open(PostgresConnectionSettings.Parse(_server.ConnectionString(diagnostic)), TimeProvider.System))
            Report("PostgreSQL, 1 writer, synchronous_commit off (diagnostic only)", await WriteAsync(pg, writers: 1));
    }

    private void Report(string name, (long Candles, TimeSpan Elapsed, List<double> LatenciesMs) r)
    {
        r.LatenciesMs.Sort();
        var p50 = r.LatenciesMs[r.LatenciesMs.Count / 2];
        var p99 = r.LatenciesMs[(int)(r.LatenciesMs.Count * 0.99)];
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: {r.Candles / r.Elapsed.TotalSeconds:0} candles/s ({r.Candles} candles in {r.Elapsed.TotalSeconds:0.0} s; per response p50 {p50:0.0} ms, p99 {p99:0.0} ms)"));
    }

    /// <summary>Each writer saves consecutive responses of its own series until the time is up.</summary>
    private static async Task<(long, TimeSpan, List<double>)> WriteAsync(ICandleStore store, int writers)
    {
        var stopwatch = Stopwatch.StartNew();
        var latencies = new List<double>();
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(() =>
        {
            var series = new SeriesKey($"KRW-B{w:000}", CandleUnit.FromMinutes(1));
            var mine = new List<double>();
            long written = 0;
            for (var response = 0; stopwatch.Elapsed < Duration; response++)
            {
                var from = Start.AddMinutes(response * ResponseSize);
                var candles = Enumerable.Range(0, ResponseSize).Select(i => Candle(series.Market, from.AddMinutes(i), response * ResponseSize + i)).ToList();
                var began = Stopwatch.GetTimestamp();
                written += store.SaveResponse(series, candles, new TimeRange(from, from.AddMinutes(ResponseSize)));
                mine.Add(Stopwatch.GetElapsedTime(began).TotalMilliseconds);
            }
            lock (latencies) latencies.AddRange(mine);
            return written;
        })).ToArray();
        var counts = await Task.WhenAll(tasks);
        return (counts.Sum(), stopwatch.Elapsed, latencies);
    }

    private static Candle Candle(string market, DateTimeOffset start, int i)
    {
        var price = 170_359_000.12345678m + i;
        return new Candle(market, CandleUnit.FromMinutes(1), start,
            start.ToOffset(TimeSpan.FromHours(9)).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture),
            price, price + 1000m, price - 1000m, price + 500m, start.ToUnixTimeMilliseconds() + 59_000, 123_456_789.12345678m + i, 0.00012345m * (i % 97 + 1));
    }
}
