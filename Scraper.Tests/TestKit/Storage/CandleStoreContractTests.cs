using Scraper.Domain;
using Scraper.Storage;
using static Scraper.Tests.Storage.TestCandles;

namespace Scraper.Tests.Storage;

/// <summary>
/// What every <see cref="ICandleStore"/> must do, asked through the contract alone. A store's test
/// class derives from this one and says how to open its kind of store; what only one kind of store
/// does (its files, its SQL, its text forms on disk) is tested beside it. A store that cannot run
/// on this machine (no PostgreSQL server) makes every test report Skipped from <see cref="OpenStore"/>.
/// </summary>
public abstract class CandleStoreContractTests : IDisposable
{
    private const string Main = "candles";
    private ICandleStore? _store;

    protected ManualTimeProvider Time { get; } = new(new DateTimeOffset(2025, 6, 24, 12, 0, 0, TimeSpan.Zero));

    /// <summary>The store most tests use, opened read-write on first use.</summary>
    private protected ICandleStore Store => _store ??= OpenStore(Main);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Opens the store called <paramref name="name"/> with <see cref="Time"/> as its clock, creating it
    /// empty on first use (read-write). Each call is a new instance; instances of one name share the data.
    /// </summary>
    private protected abstract ICandleStore OpenStore(string name, bool readOnly = false);

    /// <summary>Makes <paramref name="store"/> run <paramref name="hook"/> inside each save's transaction just before it commits.</summary>
    private protected abstract void SetBeforeCommit(ICandleStore store, Action? hook);

    protected virtual void Dispose(bool disposing)
    {
        if (disposing) _store?.Dispose();
    }

    [SkippableFact]
    public void SaveResponse_then_ReadCandles_round_trips_every_field_oldest_first()
    {
        var candles = Minutes(0, 3);
        candles.Reverse(); // the exchange answers newest first

        var written = Store.SaveResponse(BtcMinute, candles, Range(0, 3));

        Assert.Equal(3, written);
        Assert.Equal(Minutes(0, 3), Store.ReadCandles(BtcMinute).ToList());
    }

    [SkippableFact]
    public void Decimals_round_trip_exactly()
    {
        Store.SaveResponse(BtcMinute, [ExactDecimals], null);
        var read = Assert.Single(Store.ReadCandles(BtcMinute));

        Assert.Equal("0.03412345", read.OpeningPrice.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("96123000.0", read.TradePrice.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("12345678901.234567890", read.AccTradeVolume.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [SkippableFact]
    public void Day_candles_keep_their_optional_fields_and_nulls()
    {
        Store.SaveResponse(BtcDay, [FirstDay, SecondDay], new TimeRange(T0, T0.AddDays(2)));

        Assert.Equal([FirstDay, SecondDay], Store.ReadCandles(BtcDay).ToList());
    }

    [SkippableFact]
    public void SaveResponse_twice_with_the_same_response_reads_back_the_same()
    {
        var response = Minutes(0, 200);
        Store.SaveResponse(BtcMinute, response, Range(0, 200));

        Store.SaveResponse(BtcMinute, response, Range(0, 200));

        Assert.Equal(response, Store.ReadCandles(BtcMinute).ToList());
        Assert.Equal([Range(0, 200)], Store.GetCoverage(BtcMinute));
    }

    [SkippableFact]
    public void SaveResponse_replaces_a_forming_candle_with_its_final_values()
    {
        Store.SaveResponse(BtcMinute, [Forming], null);
        Time.Now = Time.Now.AddMinutes(1);

        Store.SaveResponse(BtcMinute, [Closed], Range(5, 6));

        Assert.Equal([Closed], Store.ReadCandles(BtcMinute).ToList());
    }

    [SkippableFact]
    public void SaveResponse_merges_overlapping_coverage()
    {
        Store.SaveResponse(BtcMinute, [], Range(0, 10));
        Store.SaveResponse(BtcMinute, [], Range(5, 20));

        Assert.Equal([Range(0, 20)], Store.GetCoverage(BtcMinute));
    }

    [SkippableFact]
    public void SaveResponse_merges_adjacent_coverage_on_both_sides()
    {
        Store.SaveResponse(BtcMinute, [], Range(0, 10));
        Store.SaveResponse(BtcMinute, [], Range(20, 30));

        Store.SaveResponse(BtcMinute, [], Range(10, 20));

        Assert.Equal([Range(0, 30)], Store.GetCoverage(BtcMinute));
    }

    [SkippableFact]
    public void SaveResponse_keeps_disjoint_coverage_apart()
    {
        Store.SaveResponse(BtcMinute, [], Range(30, 40));
        Store.SaveResponse(BtcMinute, [], Range(0, 10));

        Assert.Equal([Range(0, 10), Range(30, 40)], Store.GetCoverage(BtcMinute));
    }

    [SkippableFact]
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

    [SkippableFact]
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

    [SkippableFact]
    public void SaveResponse_keeps_sub_second_coverage_bounds_exact()
    {
        var end = At(10).AddTicks(1_234_567);
        Store.SaveResponse(BtcMinute, [], new TimeRange(At(0), end));
        Store.SaveResponse(BtcMinute, [], new TimeRange(end, At(20)));

        Assert.Equal([Range(0, 20)], Store.GetCoverage(BtcMinute));
        Store.SaveResponse(BtcMinute, [], new TimeRange(At(30), At(30).AddMilliseconds(500)));
        Assert.Equal([Range(0, 20), new TimeRange(At(30), At(30).AddMilliseconds(500))], Store.GetCoverage(BtcMinute));
    }

    [SkippableFact]
    public void SaveResponse_without_or_with_empty_coverage_leaves_coverage_alone()
    {
        Store.SaveResponse(BtcMinute, Minutes(0, 2), null);
        Store.SaveResponse(BtcMinute, Minutes(2, 2), Range(5, 5));

        Assert.Empty(Store.GetCoverage(BtcMinute));
        Assert.Equal(4, Store.CountCandles(BtcMinute));
    }

    [SkippableFact]
    public void SaveResponse_failing_mid_way_writes_neither_candles_nor_coverage()
    {
        Store.SaveResponse(BtcMinute, Minutes(0, 10), Range(0, 10));

        Assert.Throws<StoreException>(() => Store.SaveResponse(BtcMinute, FailingAfter150Candles(), Range(10, 210)));

        Assert.Equal(Minutes(0, 10), Store.ReadCandles(BtcMinute).ToList());
        Assert.Equal([Range(0, 10)], Store.GetCoverage(BtcMinute));
        // The store stays usable after the rollback.
        Store.SaveResponse(BtcMinute, Minutes(10, 200), Range(10, 210));
        Assert.Equal(210, Store.CountCandles(BtcMinute));
        Assert.Equal([Range(0, 210)], Store.GetCoverage(BtcMinute));
    }

    [SkippableFact]
    public void SaveResponse_failing_after_coverage_was_merged_rolls_everything_back()
    {
        Store.SaveResponse(BtcMinute, Minutes(0, 10), Range(0, 10));
        SetBeforeCommit(Store, () => throw new InvalidOperationException("crash just before commit"));

        Assert.Throws<InvalidOperationException>(() => Store.SaveResponse(BtcMinute, Minutes(10, 50), Range(10, 60)));

        SetBeforeCommit(Store, null);
        Assert.Equal(10, Store.CountCandles(BtcMinute));
        Assert.Equal([Range(0, 10)], Store.GetCoverage(BtcMinute));
        using var other = OpenStore(Main, readOnly: true);
        Assert.Equal(10, other.CountCandles(BtcMinute));
        Assert.Equal([Range(0, 10)], other.GetCoverage(BtcMinute));
    }

    [SkippableFact]
    public void SaveResponse_with_a_candle_of_another_series_is_rejected_before_writing()
    {
        var response = Minutes(0, 3);
        response.Add(Minute(At(3), market: "KRW-ETH"));

        Assert.Throws<ArgumentException>(() => Store.SaveResponse(BtcMinute, response, Range(0, 4)));

        Assert.Equal(0, Store.CountCandles(BtcMinute));
        Assert.Empty(Store.GetCoverage(BtcMinute));
    }

    [SkippableFact]
    public void SaveUncovered_writes_many_series_in_one_transaction_and_no_coverage()
    {
        var eth = new SeriesKey("KRW-ETH", CandleUnit.FromMinutes(1));
        var btc5 = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(5));
        var commits = 0;
        SetBeforeCommit(Store, () => commits++);

        var written = Store.SaveUncovered([new(BtcMinute, Minutes(0, 3)), new(eth, [Minute(At(1), market: "KRW-ETH")]), new(btc5, [Minute(At(5), unit: 5)])]);

        Assert.Equal(5, written);
        Assert.Equal(1, commits);
        Assert.Equal(Minutes(0, 3), Store.ReadCandles(BtcMinute).ToList());
        Assert.Equal([Minute(At(1), market: "KRW-ETH")], Store.ReadCandles(eth).ToList());
        Assert.Equal([Minute(At(5), unit: 5)], Store.ReadCandles(btc5).ToList());
        Assert.All(new[] { BtcMinute, eth, btc5 }, series => Assert.Empty(Store.GetCoverage(series)));
    }

    [SkippableFact]
    public void SaveUncovered_lets_the_last_candle_of_a_key_win_whole_within_a_batch_and_across_batches()
    {
        Store.SaveResponse(BtcMinute, Minutes(0, 5), Range(0, 5));
        Store.SaveUncovered([new(BtcMinute, [Forming])]);

        Store.SaveUncovered([new(BtcMinute, [Forming, Closed with { TradePrice = 1m }]), new(BtcMinute, [Closed])]);

        Assert.Equal([.. Minutes(0, 5), Closed], Store.ReadCandles(BtcMinute).ToList());
        Assert.Equal([Range(0, 5)], Store.GetCoverage(BtcMinute));
    }

    [SkippableFact]
    public void SaveUncovered_with_a_candle_of_another_series_is_rejected_whole_before_writing()
    {
        var eth = new SeriesKey("KRW-ETH", CandleUnit.FromMinutes(1));

        Assert.Throws<ArgumentException>(() => Store.SaveUncovered([new(BtcMinute, Minutes(0, 3)), new(eth, [Minute(At(1), market: "KRW-ETH"), Minute(At(2))])]));
        Assert.Throws<ArgumentException>(() => Store.SaveUncovered([new(BtcMinute, [Minute(At(1), unit: 3)])]));

        Assert.Equal(0, Store.CountCandles(BtcMinute));
        Assert.Equal(0, Store.CountCandles(eth));
    }

    [SkippableFact]
    public void SaveUncovered_failing_before_commit_writes_nothing_of_any_series()
    {
        var eth = new SeriesKey("KRW-ETH", CandleUnit.FromMinutes(1));
        SetBeforeCommit(Store, () => throw new InvalidOperationException("crash just before commit"));

        Assert.Throws<InvalidOperationException>(() => Store.SaveUncovered([new(BtcMinute, Minutes(0, 3)), new(eth, [Minute(At(1), market: "KRW-ETH")])]));

        SetBeforeCommit(Store, null);
        Assert.Equal(0, Store.CountCandles(BtcMinute));
        Assert.Equal(0, Store.CountCandles(eth));
        Assert.Equal(0, Store.SaveUncovered([]));
    }

    [SkippableFact]
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

    [SkippableFact]
    public void ListSeries_of_an_empty_store_is_empty()
    {
        Assert.Empty(Store.ListSeries());
    }

    [SkippableFact]
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

    [SkippableFact]
    public void ReadCandles_pages_through_long_series_in_order_without_repeats()
    {
        Store.SaveResponse(BtcMinute, Minutes(0, 2500), null);

        var starts = Store.ReadCandles(BtcMinute, from: At(1)).Select(c => c.StartUtc).ToList();

        Assert.Equal(Enumerable.Range(1, 2499).Select(At), starts);
    }

    [SkippableFact]
    public async Task ReadCandles_does_not_hold_the_store_while_the_consumer_is_busy()
    {
        Store.SaveResponse(BtcMinute, Minutes(0, 1500), null);
        using var reading = Store.ReadCandles(BtcMinute).GetEnumerator();
        Assert.True(reading.MoveNext());

        var save = Task.Run(() => Store.SaveResponse(BtcMinute, Minutes(5000, 1), null));

        // Times out (TimeoutException) if the save is blocked behind the open enumeration.
        await save.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1501, Store.CountCandles(BtcMinute));
    }

    [SkippableFact]
    public void NewestCandleStart_is_null_for_an_empty_series_and_the_latest_start_otherwise()
    {
        Assert.Null(Store.NewestCandleStart(BtcMinute));

        Store.SaveResponse(BtcMinute, Minutes(100, 5), null);
        Store.SaveResponse(BtcMinute, Minutes(0, 5), null);

        Assert.Equal(At(104), Store.NewestCandleStart(BtcMinute));
    }

    [SkippableFact]
    public void A_disposed_store_refuses_calls()
    {
        var store = OpenStore("other");
        store.Dispose();
        store.Dispose();

        Assert.Throws<ObjectDisposedException>(() => store.CountCandles(BtcMinute));
        Assert.Throws<ObjectDisposedException>(() => store.SaveResponse(BtcMinute, [], null));
        Assert.Throws<ObjectDisposedException>(() => store.SaveUncovered([]));
    }

    [SkippableFact]
    public async Task A_writer_and_a_reader_instance_work_on_one_store_at_the_same_time()
    {
        const int batches = 100;
        const int batchSize = 10;
        var store = Store;
        using var reader = OpenStore(Main, readOnly: true);
        var observed = new List<long>();

        var writer = Task.Run(() =>
        {
            for (var b = 0; b < batches; b++)
                store.SaveResponse(BtcMinute, Minutes(b * batchSize, batchSize), Range(b * batchSize, (b + 1) * batchSize));
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
