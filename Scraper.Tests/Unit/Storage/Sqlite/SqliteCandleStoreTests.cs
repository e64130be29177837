using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Scraper.Domain;
using Scraper.Storage;
using Scraper.Storage.Sqlite;
using static Scraper.Tests.Storage.TestCandles;

namespace Scraper.Tests.Storage.Sqlite;

/// <summary>
/// What only the SQLite store does: the rows and text forms in its file. Its behaviour through
/// the store contract is in <see cref="SqliteCandleStoreContractTests"/>.
/// </summary>
public sealed class SqliteCandleStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 24, 12, 0, 0, TimeSpan.Zero));
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
    public void SaveResponse_stores_the_exchange_text_forms()
    {
        _store.SaveResponse(BtcMinute, [Minute(At(0))], null);

        Assert.Equal(
            ["KRW-BTC|1|2025-06-24T00:00:00|2025-06-24T09:00:00|96000000|96001000|95999000|96000500|1750723259000|123456789.12345|1.28612736|NULL|NULL|NULL|2025-06-24T12:00:00.000Z"],
            RawDb.Rows(_path, AllCandles));
    }

    [Fact]
    public void Text_of_any_length_is_stored_whole_and_empty_text_is_not_null()
    {
        var longMarket = "KRW-" + new string('X', 300);
        var longKst = "2025-06-24T09:00:00 KST, as sent: " + new string('k', 100) + " 한국";
        var longSeries = new SeriesKey(longMarket, CandleUnit.FromMinutes(1));
        _store.SaveResponse(longSeries, [Minute(At(0), market: longMarket) with { StartKst = longKst }, Minute(At(1), market: longMarket) with { StartKst = "" }], null);
        _store.SaveResponse(BtcMinute, [Minute(At(0)) with { OpeningPrice = -0.0000000000000000000000000001m, TradePrice = 79228162514264337593543950335m }], null);

        Assert.Equal(
            [$"{longMarket}|{longKst}|text", $"{longMarket}||text"],
            RawDb.Rows(_path, $"SELECT market, candle_date_time_kst, typeof(candle_date_time_kst) FROM candles WHERE market = '{longMarket}' ORDER BY candle_date_time_utc"));
        Assert.Equal(
            ["-0.0000000000000000000000000001|79228162514264337593543950335"],
            RawDb.Rows(_path, "SELECT opening_price, trade_price FROM candles WHERE market = 'KRW-BTC'"));
    }

    [Fact]
    public void Decimals_are_stored_as_exact_text_that_still_casts_to_real()
    {
        _store.SaveResponse(BtcMinute, [ExactDecimals], null);

        Assert.Equal(
            ["text|0.03412345|text|96123000.0|text|12345678901.234567890"],
            RawDb.Rows(_path, "SELECT typeof(opening_price), opening_price, typeof(trade_price), trade_price, typeof(candle_acc_trade_volume), candle_acc_trade_volume FROM candles"));
        Assert.Equal(96123000.0, RawDb.Scalar(_path, "SELECT CAST(trade_price AS REAL) FROM candles"));
        Assert.Equal(0.03412345, RawDb.Scalar(_path, "SELECT CAST(opening_price AS REAL) FROM candles"));
    }

    [Fact]
    public void Day_candles_store_absent_fields_as_null()
    {
        _store.SaveResponse(BtcDay, [FirstDay, SecondDay], new TimeRange(T0, T0.AddDays(2)));

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
    public void SaveResponse_of_a_closed_candle_records_when_it_was_fetched()
    {
        _store.SaveResponse(BtcMinute, [Forming], null);
        _time.Advance(TimeSpan.FromMinutes(1));

        _store.SaveResponse(BtcMinute, [Closed], Range(5, 6));

        Assert.Equal(["2025-06-24T12:01:00.000Z"], RawDb.Rows(_path, "SELECT fetched_at FROM candles"));
    }

    [Fact]
    public void SaveResponse_merging_adjacent_coverage_keeps_one_row()
    {
        _store.SaveResponse(BtcMinute, [], Range(0, 10));
        _store.SaveResponse(BtcMinute, [], Range(20, 30));

        _store.SaveResponse(BtcMinute, [], Range(10, 20));

        Assert.Equal(1L, RawDb.Scalar(_path, "SELECT count(*) FROM coverage"));
    }

    [Fact]
    public void SaveResponse_failing_mid_way_names_the_constraint_and_leaves_the_rows_alone()
    {
        _store.SaveResponse(BtcMinute, Minutes(0, 10), Range(0, 10));
        var candlesBefore = RawDb.Rows(_path, AllCandles);

        var error = Assert.Throws<StoreException>(() => _store.SaveResponse(BtcMinute, FailingAfter150Candles(), Range(10, 210)));

        Assert.Contains("NOT NULL", error.Message, StringComparison.Ordinal);
        Assert.Equal(candlesBefore, RawDb.Rows(_path, AllCandles));
    }

    [Fact]
    public void Pages_saved_newest_first_fill_the_file_as_pages_saved_oldest_first_do()
    {
        // The exchange answers newest first; the backfill asks for the oldest window first.
        using var ascendingDir = new TempDirectory();
        var ascendingPath = ascendingDir.File("ascending.db");
        using (var ascending = SqliteCandleStore.Open(ascendingPath, _time))
        {
            for (var page = 0; page < 20; page++)
            {
                _store.SaveResponse(BtcMinute, Minutes(page * 200, 200).AsEnumerable().Reverse().ToList(), Range(page * 200, page * 200 + 200));
                ascending.SaveResponse(BtcMinute, Minutes(page * 200, 200), Range(page * 200, page * 200 + 200));
            }
        }
        _store.Dispose();

        var newestFirstPages = (long)RawDb.Scalar(_path, "PRAGMA page_count")!;
        var oldestFirstPages = (long)RawDb.Scalar(ascendingPath, "PRAGMA page_count")!;
        Assert.True(newestFirstPages <= oldestFirstPages * 11 / 10, $"{newestFirstPages} pages newest first, {oldestFirstPages} oldest first");
    }

    [Fact]
    public void Upserting_a_candle_runs_a_short_program_without_building_the_unit_list_of_the_check()
    {
        _store.SaveResponse(BtcMinute, Minutes(0, 200), Range(0, 200));

        // The unit CHECK (an IN list) is built into a temporary B-tree for every row it tests:
        // about as much work as storing the row. The values bound are checked before the insert.
        var perCandle = _store.UpsertProgramSteps / 200.0;
        Assert.True(perCandle < 60, $"{perCandle:0.0} program steps per candle");
    }

    [Fact]
    public void Saving_a_page_allocates_little_beyond_its_coverage_statements()
    {
        var pages = Enumerable.Range(0, 6).Select(p => Minutes(p * 200, 200).AsEnumerable().Reverse().ToList()).ToList();
        _store.SaveResponse(BtcMinute, pages[0], Range(0, 200));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var p = 1; p < pages.Count; p++) _store.SaveResponse(BtcMinute, pages[p], Range(p * 200, p * 200 + 200));
        var perPage = (GC.GetAllocatedBytesForCurrentThread() - before) / (pages.Count - 1);

        Assert.Equal(1200L, _store.CountCandles(BtcMinute));
        // The transaction's own statements are prepared once; what is left is the coverage merge.
        Assert.True(perPage < 3500, $"{perPage} bytes allocated per page saved");
    }

    [Fact]
    public async Task A_save_waits_while_another_connection_holds_the_write_lock()
    {
        using var other = new SqliteConnection($"Data Source={_path};Pooling=False");
        other.Open();
        using var begin = other.CreateCommand();
        begin.CommandText = "BEGIN IMMEDIATE";
        begin.ExecuteNonQuery();

        var save = Task.Run(() => _store.SaveResponse(BtcMinute, Minutes(0, 10), Range(0, 10)));
        var first = await Task.WhenAny(save, Task.Delay(TimeSpan.FromMilliseconds(300)));
        Assert.False(first == save, "the save went ahead while another connection held the write lock");
        using var commit = other.CreateCommand();
        commit.CommandText = "COMMIT";
        commit.ExecuteNonQuery();

        Assert.Equal(10, await save.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal([Range(0, 10)], _store.GetCoverage(BtcMinute));
    }

    [Fact]
    public void IntegrityCheck_still_reports_a_row_that_breaks_a_check_constraint()
    {
        _store.SaveResponse(BtcMinute, Minutes(0, 10), Range(0, 10));
        RawDb.Execute(_path, "PRAGMA ignore_check_constraints=ON; INSERT INTO coverage VALUES ('KRW-BTC', 'week', '2025-06-24T00:00:00', '2025-06-25T00:00:00')");

        Assert.Contains("CHECK constraint failed", _store.IntegrityCheck(), StringComparison.Ordinal);
        _store.SaveResponse(BtcMinute, Minutes(10, 10), Range(10, 20));
        Assert.Equal(20L, _store.CountCandles(BtcMinute));
    }

    [Fact]
    public void IntegrityCheck_of_a_healthy_store_is_ok()
    {
        _store.SaveResponse(BtcMinute, Minutes(0, 300), Range(0, 300));

        Assert.Equal("ok", _store.IntegrityCheck());
    }
}
