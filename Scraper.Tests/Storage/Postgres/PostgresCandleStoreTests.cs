using System.Globalization;
using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Storage;
using Scraper.Tests.TestKit;
using static Scraper.Tests.Storage.TestCandles;

namespace Scraper.Tests.Storage.Postgres;

/// <summary>The store contract against a real PostgreSQL server: the SQLite store's scenarios, plus partitions.</summary>
public sealed class PostgresCandleStoreTests(PostgresServer server) : PostgresStoreTestBase(server)
{
    private const string AllCandles = "SELECT market, unit, candle_date_time_utc, candle_date_time_kst, opening_price, trade_price, candle_acc_trade_volume, fetched_at FROM candles ORDER BY market, unit, candle_date_time_utc";

    [PostgresFact]
    public void SaveResponse_then_ReadCandles_round_trips_every_field_oldest_first()
    {
        var candles = Minutes(0, 3);
        candles.Reverse(); // the exchange answers newest first

        var written = Store.SaveResponse(BtcMinute, candles, Range(0, 3));

        Assert.Equal(3, written);
        Assert.Equal(Minutes(0, 3), Store.ReadCandles(BtcMinute).ToList());
    }

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
    public async Task Day_candles_keep_their_optional_fields_and_nulls()
    {
        var day = new SeriesKey("KRW-BTC", CandleUnit.Day);
        var first = new Candle("KRW-BTC", CandleUnit.Day, T0, "2025-06-24T09:00:00", 1m, 2m, 0.5m, 1.5m, 1, 10m, 20m, 1.25m, 0.25m, 0.2m);
        var second = first with { StartUtc = T0.AddDays(1), StartKst = "2025-06-25T09:00:00", ChangePrice = null, ChangeRate = null };

        Store.SaveResponse(day, [first, second], new TimeRange(T0, T0.AddDays(2)));

        Assert.Equal([first, second], Store.ReadCandles(day).ToList());
        Assert.Equal(["day|1.25|0.25|0.2", "day|1.25||"],
            await RowsAsync("SELECT unit, prev_closing_price, change_price, change_rate FROM candles ORDER BY candle_date_time_utc"));
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
    public void SaveResponse_replaces_a_forming_candle_with_its_final_values()
    {
        var forming = Minute(At(5), 100m) with { TradePrice = 100m, AccTradeVolume = 1m, Timestamp = 1 };
        var closed = forming with { TradePrice = 105m, HighPrice = 110m, AccTradeVolume = 7.5m, Timestamp = 2 };
        Store.SaveResponse(BtcMinute, [forming], null);

        Store.SaveResponse(BtcMinute, [closed], Range(5, 6));

        Assert.Equal([closed], Store.ReadCandles(BtcMinute).ToList());
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
    public void SaveResponse_merges_overlapping_coverage()
    {
        Store.SaveResponse(BtcMinute, [], Range(0, 10));
        Store.SaveResponse(BtcMinute, [], Range(5, 20));

        Assert.Equal([Range(0, 20)], Store.GetCoverage(BtcMinute));
    }

    [PostgresFact]
    public async Task SaveResponse_merges_adjacent_coverage_on_both_sides()
    {
        Store.SaveResponse(BtcMinute, [], Range(0, 10));
        Store.SaveResponse(BtcMinute, [], Range(20, 30));

        Store.SaveResponse(BtcMinute, [], Range(10, 20));

        Assert.Equal([Range(0, 30)], Store.GetCoverage(BtcMinute));
        Assert.Equal("1", await Server.PsqlAsync(Database, "SELECT count(*) FROM coverage"));
    }

    [PostgresFact]
    public void SaveResponse_keeps_disjoint_coverage_apart()
    {
        Store.SaveResponse(BtcMinute, [], Range(30, 40));
        Store.SaveResponse(BtcMinute, [], Range(0, 10));

        Assert.Equal([Range(0, 10), Range(30, 40)], Store.GetCoverage(BtcMinute));
    }

    [PostgresFact]
    public void SaveResponse_with_contained_or_containing_coverage_keeps_one_range()
    {
        Store.SaveResponse(BtcMinute, [], Range(0, 100));
        Store.SaveResponse(BtcMinute, [], Range(20, 30));
        Assert.Equal([Range(0, 100)], Store.GetCoverage(BtcMinute));

        Store.SaveResponse(BtcMinute, [], Range(110, 120));
        Store.SaveResponse(BtcMinute, [], Range(130, 140));
        Store.SaveResponse(BtcMinute, [], Range(-10, 200));
        Assert.Equal([Range(-10, 200)], Store.GetCoverage(BtcMinute));
    }

    [PostgresFact]
    public void SaveResponse_keeps_coverage_of_series_apart()
    {
        var eth = new SeriesKey("KRW-ETH", CandleUnit.FromMinutes(1));
        var btc5 = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(5));
        Store.SaveResponse(BtcMinute, [], Range(0, 10));
        Store.SaveResponse(eth, [], Range(10, 20));
        Store.SaveResponse(btc5, [], Range(5, 15));

        Assert.Equal([Range(0, 10)], Store.GetCoverage(BtcMinute));
        Assert.Equal([Range(10, 20)], Store.GetCoverage(eth));
        Assert.Equal([Range(5, 15)], Store.GetCoverage(btc5));
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
    public void SaveResponse_without_or_with_empty_coverage_leaves_coverage_alone()
    {
        Store.SaveResponse(BtcMinute, Minutes(0, 2), null);
        Store.SaveResponse(BtcMinute, Minutes(2, 2), Range(5, 5));

        Assert.Empty(Store.GetCoverage(BtcMinute));
        Assert.Equal(4, Store.CountCandles(BtcMinute));
    }

    [PostgresFact]
    public async Task SaveResponse_failing_mid_way_writes_neither_candles_nor_coverage()
    {
        Store.SaveResponse(BtcMinute, Minutes(0, 10), Range(0, 10));
        var candlesBefore = await RowsAsync(AllCandles);
        var response = Minutes(10, 200);
        response[150] = response[150] with { StartKst = null! }; // violates NOT NULL after 150 rows

        var error = Assert.Throws<StoreException>(() => Store.SaveResponse(BtcMinute, response, Range(10, 210)));

        Assert.Contains("not-null", error.Message, StringComparison.Ordinal);
        Assert.StartsWith($"postgres 127.0.0.1:{Server.Port}/{Database}: saving 200 candles of KRW-BTC/1 failed: ", error.Message, StringComparison.Ordinal);
        Assert.Equal(candlesBefore, await RowsAsync(AllCandles));
        Assert.Equal([Range(0, 10)], Store.GetCoverage(BtcMinute));
        // The store stays usable after the rollback.
        Store.SaveResponse(BtcMinute, Minutes(10, 200), Range(10, 210));
        Assert.Equal(210, Store.CountCandles(BtcMinute));
        Assert.Equal([Range(0, 210)], Store.GetCoverage(BtcMinute));
    }

    [PostgresFact]
    public void SaveResponse_failing_after_coverage_was_merged_rolls_everything_back()
    {
        Store.SaveResponse(BtcMinute, Minutes(0, 10), Range(0, 10));
        Store.BeforeCommit = () => throw new InvalidOperationException("crash just before commit");

        Assert.Throws<InvalidOperationException>(() => Store.SaveResponse(BtcMinute, Minutes(10, 50), Range(10, 60)));

        Store.BeforeCommit = null;
        Assert.Equal(10, Store.CountCandles(BtcMinute));
        Assert.Equal([Range(0, 10)], Store.GetCoverage(BtcMinute));
    }

    [PostgresFact]
    public void SaveResponse_with_a_candle_of_another_series_is_rejected_before_writing()
    {
        var response = Minutes(0, 3);
        response.Add(Minute(At(3), market: "KRW-ETH"));

        Assert.Throws<ArgumentException>(() => Store.SaveResponse(BtcMinute, response, Range(0, 4)));

        Assert.Equal(0, Store.CountCandles(BtcMinute));
        Assert.Empty(Store.GetCoverage(BtcMinute));
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
    public void ListSeries_lists_series_with_candles_or_coverage_sorted()
    {
        var eth = new SeriesKey("KRW-ETH", CandleUnit.FromMinutes(1));
        var btcDay = new SeriesKey("KRW-BTC", CandleUnit.Day);
        var btc240 = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(240));
        var btc5 = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(5));
        Store.SaveResponse(eth, [Minute(At(0), market: "KRW-ETH")], null);
        Store.SaveResponse(btcDay, [], new TimeRange(T0, T0.AddDays(1)));
        Store.SaveResponse(btc240, [Minute(At(0), unit: 240)], null);
        Store.SaveResponse(btc5, [Minute(At(0), unit: 5), Minute(At(5), unit: 5)], Range(0, 10));
        Store.SaveResponse(BtcMinute, Minutes(0, 3), null);

        Assert.Equal([BtcMinute, btc5, btc240, btcDay, eth], Store.ListSeries());
    }

    [PostgresFact]
    public void ListSeries_of_an_empty_store_is_empty()
    {
        Assert.Empty(Store.ListSeries());
    }

    [PostgresFact]
    public void CountCandles_and_ReadCandles_honour_half_open_bounds()
    {
        Store.SaveResponse(BtcMinute, Minutes(0, 10), null);
        Store.SaveResponse(new SeriesKey("KRW-ETH", CandleUnit.FromMinutes(1)), [Minute(At(3), market: "KRW-ETH")], null);

        Assert.Equal(10, Store.CountCandles(BtcMinute));
        Assert.Equal(7, Store.CountCandles(BtcMinute, from: At(3)));
        Assert.Equal(3, Store.CountCandles(BtcMinute, to: At(3)));
        Assert.Equal(2, Store.CountCandles(BtcMinute, At(3), At(5)));
        Assert.Equal(1, Store.CountCandles(BtcMinute, At(3).AddSeconds(-0.5), At(3).AddSeconds(0.5)));
        Assert.Equal([At(3), At(4)], Store.ReadCandles(BtcMinute, At(3), At(5)).Select(c => c.StartUtc));
        Assert.Equal(0, Store.CountCandles(new SeriesKey("KRW-XRP", CandleUnit.FromMinutes(1))));
    }

    [PostgresFact]
    public void ReadCandles_pages_through_long_series_in_order_without_repeats()
    {
        Store.SaveResponse(BtcMinute, Minutes(0, 2500), null);

        var starts = Store.ReadCandles(BtcMinute, from: At(1)).Select(c => c.StartUtc).ToList();

        Assert.Equal(Enumerable.Range(1, 2499).Select(At), starts);
    }

    [PostgresFact]
    public async Task ReadCandles_does_not_hold_the_store_while_the_consumer_is_busy()
    {
        Store.SaveResponse(BtcMinute, Minutes(0, 1500), null);
        using var reading = Store.ReadCandles(BtcMinute).GetEnumerator();
        Assert.True(reading.MoveNext());

        var save = Task.Run(() => Store.SaveResponse(BtcMinute, Minutes(5000, 1), null));

        await save.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1501, Store.CountCandles(BtcMinute));
    }

    [PostgresFact]
    public void NewestCandleStart_is_null_for_an_empty_series_and_the_latest_start_otherwise()
    {
        Assert.Null(Store.NewestCandleStart(BtcMinute));

        Store.SaveResponse(BtcMinute, Minutes(100, 5), null);
        Store.SaveResponse(BtcMinute, Minutes(0, 5), null);

        Assert.Equal(At(104), Store.NewestCandleStart(BtcMinute));
    }

    [PostgresFact]
    public void A_disposed_store_refuses_calls()
    {
        var store = Scraper.Storage.Postgres.PostgresCandleStore.Open(Settings(), Time);
        store.Dispose();
        store.Dispose();

        Assert.Throws<ObjectDisposedException>(() => store.CountCandles(BtcMinute));
        Assert.Throws<ObjectDisposedException>(() => store.SaveResponse(BtcMinute, [], null));
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
