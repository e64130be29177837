using Microsoft.Extensions.Time.Testing;
using Scraper.Domain;
using Scraper.Exchange.Streaming;
using Scraper.Pipeline.Live;
using Scraper.Storage.Sqlite;

namespace Scraper.Tests.Pipeline.Live;

public sealed class LiveCandleSinkTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2025, 1, 1, 0, 10, 1, TimeSpan.Zero);
    private static readonly SeriesKey Btc1 = new("KRW-BTC", CandleUnit.FromMinutes(1));
    private readonly string _dir = Directory.CreateTempSubdirectory("bps-sink-").FullName;
    private readonly FakeTimeProvider _time = new(Now);
    private readonly SqliteCandleStore _store;
    private readonly LiveCandleSink _sink;

    public LiveCandleSinkTests()
    {
        _store = SqliteCandleStore.Open(Path.Combine(_dir, "candles.db"), _time);
        _sink = new LiveCandleSink(_store, new HashSet<SeriesKey> { Btc1 }, _time);
    }

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static StreamCandle At(DateTimeOffset start, decimal price, bool snapshot = false, string market = "KRW-BTC", int unit = 1) =>
        new(Now, new Candle(market, CandleUnit.FromMinutes(unit), start, "kst", price, price, price, price, 0, price, 1), snapshot);

    [Fact]
    public void Keeps_the_last_update_of_the_forming_and_the_just_closed_candle_only_of_followed_series()
    {
        var forming = Now.AddSeconds(-1);
        var closed = forming.AddMinutes(-1);
        var stored = _sink.Write([At(forming, 1), At(forming, 2), At(closed, 3), At(closed.AddMinutes(-1), 4), At(forming, 5, market: "KRW-ETH"), At(forming, 6, unit: 3)]);
        Assert.Equal([3m, 2m], _store.ReadCandles(Btc1).Select(c => c.TradePrice).ToList());
        Assert.Empty(_store.GetCoverage(Btc1));
        var e = Assert.Single(stored);
        Assert.Equal(2, e.Candles);
        Assert.Equal(TimeSpan.FromSeconds(1), e.Lag); // the just-closed candle, one second after its close
    }

    [Fact]
    public void Of_two_updates_of_one_candle_the_later_received_wins_whatever_their_order_in_the_batch()
    {
        var forming = Now.AddSeconds(-1);
        var later = At(forming, 2);
        var handedOver = At(forming, 1) with { At = Now.AddSeconds(-30) }; // kept from before a takeover, queued after a newer one
        _sink.Write([later, handedOver]);
        Assert.Equal([2m], _store.ReadCandles(Btc1).Select(c => c.TradePrice).ToList());
    }

    [Fact]
    public void A_flush_of_many_series_is_written_in_one_transaction()
    {
        var eth = new SeriesKey("KRW-ETH", CandleUnit.FromMinutes(1));
        var btc3 = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(3));
        var sink = new LiveCandleSink(_store, new HashSet<SeriesKey> { Btc1, eth, btc3 }, _time);
        var commits = 0;
        _store.BeforeCommit = () => commits++;
        var forming = Now.AddSeconds(-1);

        var stored = sink.Write([At(forming, 1), At(forming, 2, market: "KRW-ETH"), At(btc3.Unit.AlignDown(Now), 3, unit: 3), At(forming.AddMinutes(-1), 4)]);

        Assert.Equal(1, commits);
        Assert.Equal([(Btc1, 2), (btc3, 1), (eth, 1)], stored.Select(e => (e.Series, e.Candles)).OrderBy(e => e.Series.Market, StringComparer.Ordinal).ThenBy(e => e.Series.Unit.Interval));
        Assert.Equal([4m, 1m], _store.ReadCandles(Btc1).Select(c => c.TradePrice));
        Assert.Equal(2m, Assert.Single(_store.ReadCandles(eth)).TradePrice);
        Assert.Equal(3m, Assert.Single(_store.ReadCandles(btc3)).TradePrice);
    }

    [Fact]
    public void A_snapshot_is_stored_but_gives_no_lag() =>
        Assert.Null(Assert.Single(_sink.Write([At(Now.AddSeconds(-61), 3, snapshot: true)])).Lag);

    [Theory]
    [InlineData(1, 180)]
    [InlineData(3, 540)]
    [InlineData(5, 900)]
    [InlineData(15, 1440)]
    [InlineData(240, 1440)]
    public void Reconciliation_scales_with_the_unit_up_to_daily(int unit, int minutes) =>
        Assert.Equal(TimeSpan.FromMinutes(minutes), new LiveOptions().ReconcilePeriod(CandleUnit.FromMinutes(unit)));
}
