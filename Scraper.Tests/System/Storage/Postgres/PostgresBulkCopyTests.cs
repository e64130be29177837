using Scraper.Storage.Postgres;
using Scraper.Tests.TestKit;
using static Scraper.Tests.Storage.TestCandles;

namespace Scraper.Tests.Storage.Postgres;

/// <summary>The copy verb's bulk path: the same result as the upsert of every write, whichever way a block goes.</summary>
public sealed class PostgresBulkCopyTests(PostgresServer server) : PostgresStoreTestBase(server)
{
    [PostgresFact]
    public async Task A_fresh_block_and_a_block_over_stored_candles_both_end_as_last_wins_with_their_coverage()
    {
        var bulk = new PostgresBulkCopy(Store, Time);
        bulk.Write(BtcMinute, Minutes(0, 100), Range(0, 100));
        // Over stored candles (and one stored by a writer without coverage): the upsert path, the new version wins whole.
        Store.SaveResponse(BtcMinute, [Minute(At(150), 1m)], null);
        var second = Minutes(50, 150, price: 42m);

        bulk.Write(BtcMinute, second, Range(50, 200));

        Assert.Equal([Range(0, 200)], Store.GetCoverage(BtcMinute));
        Assert.Equal(Minutes(0, 50).Concat(second), Store.ReadCandles(BtcMinute));
        Assert.Equal(["0"], await RowsAsync("SELECT count(*) FROM pg_tables WHERE tablename = 'candles_copy_staging' AND schemaname = 'public'"));
    }

    [PostgresFact]
    public void Exact_decimals_and_day_fields_survive_the_binary_copy()
    {
        var bulk = new PostgresBulkCopy(Store, Time);

        bulk.Write(BtcMinute, [ExactDecimals], null);
        bulk.Write(BtcDay, [FirstDay, SecondDay], null);

        var stored = Assert.Single(Store.ReadCandles(BtcMinute));
        Assert.Equal(ExactDecimals, stored);
        Assert.Equal(ExactDecimals.AccTradeVolume.Scale, stored.AccTradeVolume.Scale);
        Assert.Equal([FirstDay, SecondDay], Store.ReadCandles(BtcDay));
        Assert.Empty(Store.GetCoverage(BtcMinute));
    }
}
