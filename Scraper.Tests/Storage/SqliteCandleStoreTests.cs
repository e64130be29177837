using Scraper.Exchange;
using Scraper.Storage;
using static Scraper.Tests.Storage.TestCandles;

namespace Scraper.Tests.Storage;

public sealed class SqliteCandleStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2025, 6, 24, 12, 0, 0, TimeSpan.Zero));
    private readonly string _path;
    private readonly SqliteCandleStore _store;

    public SqliteCandleStoreTests()
    {
        _path = _dir.File("candles.db");
        _store = SqliteCandleStore.Open(_path, _time);
    }

    public void Dispose()
    {
        _store.Dispose();
        _dir.Dispose();
    }

    private const string AllCandles = "SELECT * FROM candles ORDER BY market, unit, candle_date_time_utc";

    [Fact]
    public void SaveResponse_then_ReadCandles_round_trips_every_field_oldest_first()
    {
        var candles = Minutes(0, 3);
        candles.Reverse(); // the exchange answers newest first

        var written = _store.SaveResponse(BtcMinute, candles, Range(0, 3));

        Assert.Equal(3, written);
        Assert.Equal(Minutes(0, 3), _store.ReadCandles(BtcMinute).ToList());
    }

    [Fact]
    public void SaveResponse_stores_the_exchange_text_forms()
    {
        _store.SaveResponse(BtcMinute, [Minute(At(0))], null);

        Assert.Equal(
            ["KRW-BTC|1|2025-06-24T00:00:00|2025-06-24T09:00:00|96000000|96001000|95999000|96000500|1750723259000|123456789.12345|1.28612736|NULL|NULL|NULL|2025-06-24T12:00:00.000Z"],
            RawDb.Rows(_path, AllCandles));
    }

    [Fact]
    public void Decimals_round_trip_exactly_as_text_and_still_cast_to_real()
    {
        var candle = Minute(At(0)) with
        {
            OpeningPrice = 0.03412345m,
            TradePrice = 96123000.0m,
            AccTradeVolume = 12345678901.234567890m, // 20 significant digits, trailing zero kept
        };

        _store.SaveResponse(BtcMinute, [candle], null);
        var read = Assert.Single(_store.ReadCandles(BtcMinute));

        Assert.Equal("0.03412345", read.OpeningPrice.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("96123000.0", read.TradePrice.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("12345678901.234567890", read.AccTradeVolume.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(
            ["text|0.03412345|text|96123000.0|text|12345678901.234567890"],
            RawDb.Rows(_path, "SELECT typeof(opening_price), opening_price, typeof(trade_price), trade_price, typeof(candle_acc_trade_volume), candle_acc_trade_volume FROM candles"));
        Assert.Equal(96123000.0, RawDb.Scalar(_path, "SELECT CAST(trade_price AS REAL) FROM candles"));
        Assert.Equal(0.03412345, RawDb.Scalar(_path, "SELECT CAST(opening_price AS REAL) FROM candles"));
    }

    [Fact]
    public void Day_candles_keep_their_optional_fields_and_nulls()
    {
        var day = new SeriesKey("KRW-BTC", CandleUnit.Day);
        var first = new Candle("KRW-BTC", CandleUnit.Day, T0, "2025-06-24T09:00:00", 1m, 2m, 0.5m, 1.5m, 1, 10m, 20m, 1.25m, 0.25m, 0.2m);
        var second = first with { StartUtc = T0.AddDays(1), StartKst = "2025-06-25T09:00:00", ChangePrice = null, ChangeRate = null };

        _store.SaveResponse(day, [first, second], new TimeRange(T0, T0.AddDays(2)));

        Assert.Equal([first, second], _store.ReadCandles(day).ToList());
        Assert.Equal(["day|1.25|0.25|0.2", "day|1.25|NULL|NULL"], RawDb.Rows(_path, "SELECT unit, prev_closing_price, change_price, change_rate FROM candles ORDER BY candle_date_time_utc"));
    }

    [Fact]
    public void SaveResponse_twice_with_the_same_response_leaves_the_same_rows()
    {
        var response = Minutes(0, 200);
        _store.SaveResponse(BtcMinute, response, Range(0, 200));
        var rowsAfterFirst = RawDb.Rows(_path, AllCandles);
        var coverageAfterFirst = RawDb.Rows(_path, "SELECT * FROM coverage");

        _store.SaveResponse(BtcMinute, response, Range(0, 200));

        Assert.Equal(200, rowsAfterFirst.Count);
        Assert.Equal(rowsAfterFirst, RawDb.Rows(_path, AllCandles));
        Assert.Equal(coverageAfterFirst, RawDb.Rows(_path, "SELECT * FROM coverage"));
    }

    [Fact]
    public void SaveResponse_replaces_a_forming_candle_with_its_final_values()
    {
        var forming = Minute(At(5), 100m) with { TradePrice = 100m, AccTradeVolume = 1m, Timestamp = 1 };
        var closed = forming with { TradePrice = 105m, HighPrice = 110m, AccTradeVolume = 7.5m, Timestamp = 2 };
        _store.SaveResponse(BtcMinute, [forming], null);
        _time.Now = _time.Now.AddMinutes(1);

        _store.SaveResponse(BtcMinute, [closed], Range(5, 6));

        Assert.Equal([closed], _store.ReadCandles(BtcMinute).ToList());
        Assert.Equal(["2025-06-24T12:01:00.000Z"], RawDb.Rows(_path, "SELECT fetched_at FROM candles"));
    }

    [Fact]
    public void SaveResponse_merges_overlapping_coverage()
    {
        _store.SaveResponse(BtcMinute, [], Range(0, 10));
        _store.SaveResponse(BtcMinute, [], Range(5, 20));

        Assert.Equal([Range(0, 20)], _store.GetCoverage(BtcMinute));
    }

    [Fact]
    public void SaveResponse_merges_adjacent_coverage_on_both_sides()
    {
        _store.SaveResponse(BtcMinute, [], Range(0, 10));
        _store.SaveResponse(BtcMinute, [], Range(20, 30));

        _store.SaveResponse(BtcMinute, [], Range(10, 20));

        Assert.Equal([Range(0, 30)], _store.GetCoverage(BtcMinute));
        Assert.Equal(1L, RawDb.Scalar(_path, "SELECT count(*) FROM coverage"));
    }

    [Fact]
    public void SaveResponse_keeps_disjoint_coverage_apart()
    {
        _store.SaveResponse(BtcMinute, [], Range(30, 40));
        _store.SaveResponse(BtcMinute, [], Range(0, 10));

        Assert.Equal([Range(0, 10), Range(30, 40)], _store.GetCoverage(BtcMinute));
    }

    [Fact]
    public void SaveResponse_with_contained_or_containing_coverage_keeps_one_range()
    {
        _store.SaveResponse(BtcMinute, [], Range(0, 100));
        _store.SaveResponse(BtcMinute, [], Range(20, 30));
        Assert.Equal([Range(0, 100)], _store.GetCoverage(BtcMinute));

        _store.SaveResponse(BtcMinute, [], Range(110, 120));
        _store.SaveResponse(BtcMinute, [], Range(130, 140));
        _store.SaveResponse(BtcMinute, [], Range(-10, 200));
        Assert.Equal([Range(-10, 200)], _store.GetCoverage(BtcMinute));
    }

    [Fact]
    public void SaveResponse_keeps_coverage_of_series_apart()
    {
        var eth = new SeriesKey("KRW-ETH", CandleUnit.FromMinutes(1));
        var btc5 = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(5));
        _store.SaveResponse(BtcMinute, [], Range(0, 10));
        _store.SaveResponse(eth, [], Range(10, 20));
        _store.SaveResponse(btc5, [], Range(5, 15));

        Assert.Equal([Range(0, 10)], _store.GetCoverage(BtcMinute));
        Assert.Equal([Range(10, 20)], _store.GetCoverage(eth));
        Assert.Equal([Range(5, 15)], _store.GetCoverage(btc5));
    }

    [Fact]
    public void SaveResponse_keeps_sub_second_coverage_bounds_exact()
    {
        var end = At(10).AddTicks(1_234_567);
        _store.SaveResponse(BtcMinute, [], new TimeRange(At(0), end));
        _store.SaveResponse(BtcMinute, [], new TimeRange(end, At(20)));

        Assert.Equal([Range(0, 20)], _store.GetCoverage(BtcMinute));
        _store.SaveResponse(BtcMinute, [], new TimeRange(At(30), At(30).AddMilliseconds(500)));
        Assert.Equal([Range(0, 20), new TimeRange(At(30), At(30).AddMilliseconds(500))], _store.GetCoverage(BtcMinute));
    }

    [Fact]
    public void SaveResponse_without_or_with_empty_coverage_leaves_coverage_alone()
    {
        _store.SaveResponse(BtcMinute, Minutes(0, 2), null);
        _store.SaveResponse(BtcMinute, Minutes(2, 2), Range(5, 5));

        Assert.Empty(_store.GetCoverage(BtcMinute));
        Assert.Equal(4, _store.CountCandles(BtcMinute));
    }

    [Fact]
    public void SaveResponse_failing_mid_way_writes_neither_candles_nor_coverage()
    {
        _store.SaveResponse(BtcMinute, Minutes(0, 10), Range(0, 10));
        var candlesBefore = RawDb.Rows(_path, AllCandles);
        var response = Minutes(10, 200);
        response[150] = response[150] with { StartKst = null! }; // violates NOT NULL after 150 upserts

        var error = Assert.Throws<StoreException>(() => _store.SaveResponse(BtcMinute, response, Range(10, 210)));

        Assert.Contains("NOT NULL", error.Message, StringComparison.Ordinal);
        Assert.Equal(candlesBefore, RawDb.Rows(_path, AllCandles));
        Assert.Equal([Range(0, 10)], _store.GetCoverage(BtcMinute));
        // The store stays usable after the rollback.
        _store.SaveResponse(BtcMinute, Minutes(10, 200), Range(10, 210));
        Assert.Equal(210, _store.CountCandles(BtcMinute));
        Assert.Equal([Range(0, 210)], _store.GetCoverage(BtcMinute));
    }

    [Fact]
    public void SaveResponse_failing_after_coverage_was_merged_rolls_everything_back()
    {
        _store.SaveResponse(BtcMinute, Minutes(0, 10), Range(0, 10));
        _store.BeforeCommit = () => throw new InvalidOperationException("crash just before commit");

        Assert.Throws<InvalidOperationException>(() => _store.SaveResponse(BtcMinute, Minutes(10, 50), Range(10, 60)));

        _store.BeforeCommit = null;
        Assert.Equal(10, _store.CountCandles(BtcMinute));
        Assert.Equal([Range(0, 10)], _store.GetCoverage(BtcMinute));
        using var other = SqliteCandleStore.Open(_path, _time, readOnly: true);
        Assert.Equal(10, other.CountCandles(BtcMinute));
        Assert.Equal([Range(0, 10)], other.GetCoverage(BtcMinute));
    }

    [Fact]
    public void SaveResponse_with_a_candle_of_another_series_is_rejected_before_writing()
    {
        var response = Minutes(0, 3);
        response.Add(Minute(At(3), market: "KRW-ETH"));

        Assert.Throws<ArgumentException>(() => _store.SaveResponse(BtcMinute, response, Range(0, 4)));

        Assert.Equal(0, _store.CountCandles(BtcMinute));
        Assert.Empty(_store.GetCoverage(BtcMinute));
    }

    [Fact]
    public void ListSeries_lists_series_with_candles_or_coverage_sorted()
    {
        var eth = new SeriesKey("KRW-ETH", CandleUnit.FromMinutes(1));
        var btcDay = new SeriesKey("KRW-BTC", CandleUnit.Day);
        var btc240 = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(240));
        var btc5 = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(5));
        _store.SaveResponse(eth, [Minute(At(0), market: "KRW-ETH")], null);
        _store.SaveResponse(btcDay, [], new TimeRange(T0, T0.AddDays(1)));
        _store.SaveResponse(btc240, [Minute(At(0), unit: 240)], null);
        _store.SaveResponse(btc5, [Minute(At(0), unit: 5), Minute(At(5), unit: 5)], Range(0, 10));
        _store.SaveResponse(BtcMinute, Minutes(0, 3), null);

        Assert.Equal([BtcMinute, btc5, btc240, btcDay, eth], _store.ListSeries());
    }

    [Fact]
    public void ListSeries_of_an_empty_store_is_empty()
    {
        Assert.Empty(_store.ListSeries());
    }

    [Fact]
    public void CountCandles_and_ReadCandles_honour_half_open_bounds()
    {
        _store.SaveResponse(BtcMinute, Minutes(0, 10), null);
        _store.SaveResponse(new SeriesKey("KRW-ETH", CandleUnit.FromMinutes(1)), [Minute(At(3), market: "KRW-ETH")], null);

        Assert.Equal(10, _store.CountCandles(BtcMinute));
        Assert.Equal(7, _store.CountCandles(BtcMinute, from: At(3)));
        Assert.Equal(3, _store.CountCandles(BtcMinute, to: At(3)));
        Assert.Equal(2, _store.CountCandles(BtcMinute, At(3), At(5)));
        Assert.Equal(1, _store.CountCandles(BtcMinute, At(3).AddSeconds(-0.5), At(3).AddSeconds(0.5)));
        Assert.Equal([At(3), At(4)], _store.ReadCandles(BtcMinute, At(3), At(5)).Select(c => c.StartUtc));
        Assert.Equal(0, _store.CountCandles(new SeriesKey("KRW-XRP", CandleUnit.FromMinutes(1))));
    }

    [Fact]
    public void ReadCandles_pages_through_long_series_in_order_without_repeats()
    {
        _store.SaveResponse(BtcMinute, Minutes(0, 2500), null);

        var starts = _store.ReadCandles(BtcMinute, from: At(1)).Select(c => c.StartUtc).ToList();

        Assert.Equal(Enumerable.Range(1, 2499).Select(At), starts);
    }

    [Fact]
    public async Task ReadCandles_does_not_hold_the_store_while_the_consumer_is_busy()
    {
        _store.SaveResponse(BtcMinute, Minutes(0, 1500), null);
        using var reading = _store.ReadCandles(BtcMinute).GetEnumerator();
        Assert.True(reading.MoveNext());

        var save = Task.Run(() => _store.SaveResponse(BtcMinute, Minutes(5000, 1), null));

        // Times out (TimeoutException) if the save is blocked behind the open enumeration.
        await save.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1501, _store.CountCandles(BtcMinute));
    }

    [Fact]
    public void NewestCandleStart_is_null_for_an_empty_series_and_the_latest_start_otherwise()
    {
        Assert.Null(_store.NewestCandleStart(BtcMinute));

        _store.SaveResponse(BtcMinute, Minutes(100, 5), null);
        _store.SaveResponse(BtcMinute, Minutes(0, 5), null);

        Assert.Equal(At(104), _store.NewestCandleStart(BtcMinute));
    }

    [Fact]
    public void IntegrityCheck_of_a_healthy_store_is_ok()
    {
        _store.SaveResponse(BtcMinute, Minutes(0, 300), Range(0, 300));

        Assert.Equal("ok", _store.IntegrityCheck());
    }

    [Fact]
    public void A_disposed_store_refuses_calls()
    {
        var store = SqliteCandleStore.Open(_dir.File("other.db"), _time);
        store.Dispose();
        store.Dispose();

        Assert.Throws<ObjectDisposedException>(() => store.CountCandles(BtcMinute));
        Assert.Throws<ObjectDisposedException>(() => store.SaveResponse(BtcMinute, [], null));
    }

    [Fact]
    public async Task A_writer_and_a_reader_instance_work_on_one_file_at_the_same_time()
    {
        const int batches = 100;
        const int batchSize = 10;
        using var reader = SqliteCandleStore.Open(_path, _time, readOnly: true);
        var observed = new List<long>();

        var writer = Task.Run(() =>
        {
            for (var b = 0; b < batches; b++)
                _store.SaveResponse(BtcMinute, Minutes(b * batchSize, batchSize), Range(b * batchSize, (b + 1) * batchSize));
        });
        var readerTask = Task.Run(() =>
        {
            while (!writer.IsCompleted)
            {
                observed.Add(reader.CountCandles(BtcMinute));
                _ = reader.GetCoverage(BtcMinute);
                _ = reader.ReadCandles(BtcMinute, At(0), At(20)).Count();
            }
        });

        await Task.WhenAll(writer, readerTask).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.All(observed, count => Assert.Equal(0, count % batchSize)); // every save is seen whole or not at all
        Assert.Equal(observed.Order(), observed);                         // and never goes back
        Assert.Equal(batches * batchSize, reader.CountCandles(BtcMinute));
        Assert.Equal([Range(0, batches * batchSize)], reader.GetCoverage(BtcMinute));
    }
}
