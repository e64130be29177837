using System.Globalization;
using Scraper.Domain;
using Scraper.Storage;
using Scraper.Tests.TestKit;
using static Scraper.Tests.Storage.TestCandles;

namespace Scraper.Tests.Storage.Postgres;

/// <summary>What only the PostgreSQL store does: numeric and timestamptz columns, partitions, concurrent writers (the contract itself runs in PostgresCandleStoreContractTests).</summary>
public sealed class PostgresCandleStoreTests(PostgresServer server) : PostgresStoreTestBase(server)
{
    private const string AllCandles = "SELECT market, unit, candle_date_time_utc, candle_date_time_kst, opening_price, trade_price, candle_acc_trade_volume, fetched_at FROM candles ORDER BY market, unit, candle_date_time_utc";

    [PostgresFact]
    public async Task SaveResponse_stores_numeric_prices_and_timestamptz_starts()
    {
        Store.SaveResponse(BtcMinute, [Minute(At(0))], null);

        Assert.Equal(
            ["KRW-BTC|1|2025-06-24 00:00:00+00|2025-06-24T09:00:00|96000000|96000500|1.28612736|2025-06-24 12:00:00+00"],
            await RowsAsync($"SET TIME ZONE 'UTC'; {AllCandles}"));
        Assert.Equal("timestamp with time zone|numeric|numeric",
            await Server.PsqlAsync(Database, "SELECT pg_typeof(candle_date_time_utc) || '|' || pg_typeof(trade_price) || '|' || pg_typeof(candle_acc_trade_volume) FROM candles"));
    }

    [PostgresFact]
    public async Task Decimals_round_trip_exactly_with_their_scale()
    {
        var candle = Minute(At(0)) with
        {
            OpeningPrice = 0.03412345m,
            HighPrice = 170359000.12345678m,
            TradePrice = 96123000.0m,
            AccTradePrice = 0.000000012345m, // a tiny volume with more than 8 decimals
            AccTradeVolume = 12345678901.234567890m, // 20 significant digits, trailing zero kept
        };

        Store.SaveResponse(BtcMinute, [candle], null);
        var read = Assert.Single(Store.ReadCandles(BtcMinute));

        Assert.Equal(candle, read);
        Assert.Equal("0.03412345", read.OpeningPrice.ToString(CultureInfo.InvariantCulture));
        Assert.Equal("170359000.12345678", read.HighPrice.ToString(CultureInfo.InvariantCulture));
        Assert.Equal("96123000.0", read.TradePrice.ToString(CultureInfo.InvariantCulture));
        Assert.Equal("0.000000012345", read.AccTradePrice.ToString(CultureInfo.InvariantCulture));
        Assert.Equal("12345678901.234567890", read.AccTradeVolume.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(["0.03412345|170359000.12345678|96123000.0|0.000000012345|12345678901.234567890"],
            await RowsAsync("SELECT opening_price, high_price, trade_price, candle_acc_trade_price, candle_acc_trade_volume FROM candles"));
    }

    [PostgresFact]
    public async Task SaveResponse_twice_with_the_same_response_leaves_the_same_rows()
    {
        var response = Minutes(0, 200);
        Store.SaveResponse(BtcMinute, response, Range(0, 200));
        var rowsAfterFirst = await RowsAsync(AllCandles);
        var coverageAfterFirst = await RowsAsync("SELECT * FROM coverage");

        Store.SaveResponse(BtcMinute, response, Range(0, 200));

        Assert.Equal(200, rowsAfterFirst.Count);
        Assert.Equal(rowsAfterFirst, await RowsAsync(AllCandles));
        Assert.Equal(coverageAfterFirst, await RowsAsync("SELECT * FROM coverage"));
    }

    [PostgresFact]
    public void SaveResponse_with_one_start_twice_keeps_the_last()
    {
        var first = Minute(At(5), 100m);
        var last = first with { TradePrice = 105m };

        Store.SaveResponse(BtcMinute, [first, last], Range(5, 6));

        Assert.Equal([last], Store.ReadCandles(BtcMinute).ToList());
    }

    [PostgresFact]
    public void SaveResponse_keeps_microsecond_coverage_bounds_exact()
    {
        // timestamptz holds microseconds; the SQLite store's 100 ns ticks are finer than any exchange instant.
        var end = At(10).AddTicks(1_234_560);
        Store.SaveResponse(BtcMinute, [], new TimeRange(At(0), end));
        Store.SaveResponse(BtcMinute, [], new TimeRange(end, At(20)));

        Assert.Equal([Range(0, 20)], Store.GetCoverage(BtcMinute));
        Store.SaveResponse(BtcMinute, [], new TimeRange(At(30), At(30).AddMilliseconds(500)));
        Assert.Equal([Range(0, 20), new TimeRange(At(30), At(30).AddMilliseconds(500))], Store.GetCoverage(BtcMinute));
    }

    [PostgresFact]
    public async Task SaveResponse_creates_the_monthly_partitions_it_needs_and_the_next_month_ahead()
    {
        var january = new DateTimeOffset(2024, 1, 31, 23, 59, 0, TimeSpan.Zero);
        var candles = new[] { Minute(january), Minute(january.AddMinutes(1)) };

        Store.SaveResponse(BtcMinute, candles, new TimeRange(january, january.AddMinutes(2)));

        Assert.Equal(2, Store.CountCandles(BtcMinute));
        Assert.Equal(["candles_2024_01|1", "candles_2024_02|1", "candles_2024_03|0", "candles_2025_06|0", "candles_2025_07|0"],
            await RowsAsync("SELECT c.relname, (SELECT count(*) FROM candles t WHERE t.tableoid = c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'candles'::regclass ORDER BY 1"));
        Assert.Contains("candles_2024_01",
            await Server.PsqlAsync(Database, "EXPLAIN SELECT count(*) FROM candles WHERE candle_date_time_utc >= '2024-01-01Z' AND candle_date_time_utc < '2024-02-01Z'"), StringComparison.Ordinal);
        Assert.DoesNotContain("candles_2025_06",
            await Server.PsqlAsync(Database, "EXPLAIN SELECT count(*) FROM candles WHERE candle_date_time_utc >= '2024-01-01Z' AND candle_date_time_utc < '2024-02-01Z'"), StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task Concurrent_writers_of_one_series_see_every_save_whole_and_leave_one_merged_range()
    {
        const int writers = 4;
        const int batches = 50;
        const int batchSize = 10;
        using var reader = Scraper.Storage.Postgres.PostgresCandleStore.Open(Settings(), Time, new() { ReadOnly = true });
        var observed = new List<long>();

        var writing = Enumerable.Range(0, writers).Select(w => Task.Run(() =>
        {
            for (var b = w; b < batches; b += writers)
                Store.SaveResponse(BtcMinute, Minutes(b * batchSize, batchSize), Range(b * batchSize, (b + 1) * batchSize));
        })).ToArray();
        var all = Task.WhenAll(writing);
        var readerTask = Task.Run(() =>
        {
            while (!all.IsCompleted)
            {
                observed.Add(reader.CountCandles(BtcMinute));
                _ = reader.GetCoverage(BtcMinute);
            }
        });

        await Task.WhenAll(all, readerTask).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.All(observed, count => Assert.Equal(0, count % batchSize)); // every save is seen whole or not at all
        Assert.Equal(batches * batchSize, reader.CountCandles(BtcMinute));
        Assert.Equal([Range(0, batches * batchSize)], reader.GetCoverage(BtcMinute));
        Assert.Equal("1", await Server.PsqlAsync(Database, "SELECT count(*) FROM coverage"));
    }
}
