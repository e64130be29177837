using Scraper.Domain;
using Scraper.Exchange.Streaming;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Xunit;

namespace Scraper.Tests.Exchange.Streaming;

/// <summary>
/// The stream client against the fake exchange's real WebSocket on 127.0.0.1, in real (short) time.
/// Every interval has a trade here: the fake sends no forming candle for a minute without one, and
/// these tests wait for candles of whatever minute the clock is in (with the default 5% of empty
/// minutes, the frame tests failed in a CI run that fell into one, 15:39 UTC on 2026-12-01).
/// </summary>
public class UpbitStreamTests() : FakeExchangeTest(new FakeExchangeOptions { NoTradeProbability = 0 })
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private static readonly SeriesKey Btc1 = new("KRW-BTC", CandleUnit.FromMinutes(1));
    private static readonly SeriesKey Eth15 = new("KRW-ETH", CandleUnit.FromMinutes(15));

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Exchange.Stream.Options.Tick = TimeSpan.FromMilliseconds(100);
        Exchange.Stream.Options.UpdateProbability = 1;
    }

    private UpbitStream Client(Func<StreamOptions, StreamOptions>? adjust = null)
    {
        var options = new StreamOptions
        {
            Url = StreamOptions.UrlFor(Exchange.BaseUrl),
            PingInterval = TimeSpan.FromMilliseconds(300),
            DeadAfter = TimeSpan.FromSeconds(1),
            MinBackoff = TimeSpan.FromMilliseconds(200),
            MaxBackoff = TimeSpan.FromSeconds(1),
        };
        return new UpbitStream(adjust?.Invoke(options) ?? options, TimeProvider.System);
    }

    [Fact]
    public async Task Snapshot_first_then_realtime_candles_and_tickers_over_one_connection()
    {
        using var r = new StreamRecorder(Client().Follow(StreamSubscription.For([Btc1, Eth15])));
        await r.WaitForAsync(x => x.Of<StreamCandle>().Count(c => !c.Snapshot) >= 4 && x.Of<StreamTicker>().Count >= 4, Wait, "realtime candles");
        var candles = r.Of<StreamCandle>();
        Assert.True(candles[0].Snapshot && candles[1].Snapshot);
        Assert.Equal(["KRW-BTC/1", "KRW-ETH/15"], candles.Take(2).Select(c => new SeriesKey(c.Candle.Market, c.Candle.Unit).ToString()).Order());
        Assert.Equal(1, Exchange.Stream.Accepted);
        Assert.Single(r.Of<StreamConnected>());
        Assert.Contains("\"candle.1m\"", Exchange.Stream.Subscriptions[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_final_value_sent_after_a_close_equals_the_rest_candle()
    {
        // Put the exchange's clock 1.5 s before a minute closes.
        var now = TimeProvider.System.GetUtcNow();
        Exchange.Options.ClockOffset = Btc1.Unit.AlignDown(now) + TimeSpan.FromMinutes(2) - TimeSpan.FromSeconds(1.5) - now;
        var closing = Btc1.Unit.AlignDown(Exchange.Now);
        using var r = new StreamRecorder(Client().Follow(StreamSubscription.For([Btc1])));
        await r.WaitForAsync(x => x.Of<StreamCandle>().Any(c => c.Candle.StartUtc > closing), Wait, "a candle of the next minute");
        var last = r.Of<StreamCandle>().Last(c => c.Candle.StartUtc == closing);
        Assert.Equal(Exchange.Data.CandleAt("KRW-BTC", Btc1.Unit, closing, closing + TimeSpan.FromMinutes(5)), last.Candle);
    }

    [Theory]
    [InlineData(FrameMode.Binary)]
    [InlineData(FrameMode.Text)]
    [InlineData(FrameMode.Alternate)]
    public async Task Binary_and_text_frames_both_decode(FrameMode frames)
    {
        Exchange.Stream.Options.Frames = frames;
        using var r = new StreamRecorder(Client().Follow(StreamSubscription.For([Btc1])));
        await r.WaitForAsync(x => x.Of<StreamCandle>().Count >= 3 && x.Of<StreamTicker>().Count >= 3, Wait, "candles and tickers");
        Assert.Empty(r.Of<StreamMalformed>());
    }

    [Fact]
    public async Task A_ping_keeps_the_connection_past_the_idle_timeout_and_is_answered()
    {
        // Four times the other tests' timings: a fresh test process on a busy machine can miss its
        // timers for up to a second while it compiles, on both sides at once, and a tighter idle
        // timeout then closes a connection whose pings were merely late. Five answers still span
        // nearly twice the idle timeout.
        Exchange.Stream.Options.IdleTimeout = TimeSpan.FromMilliseconds(3200);
        using var r = new StreamRecorder(Client(o => o with { PingInterval = TimeSpan.FromMilliseconds(1200), DeadAfter = TimeSpan.FromSeconds(4) })
            .Follow(StreamSubscription.For([Btc1])));
        await r.WaitForAsync(x => x.Of<StreamStatus>().Count >= 5, Wait, "five answers to PING");
        Assert.Empty(r.Of<StreamDisconnected>());
        Assert.Equal(1, Exchange.Stream.Accepted);
    }

    [Fact]
    public async Task Without_pings_the_idle_timeout_closes_it_and_it_reconnects()
    {
        Exchange.Stream.Options.IdleTimeout = TimeSpan.FromMilliseconds(500);
        using var r = new StreamRecorder(Client(o => o with { PingInterval = TimeSpan.FromMinutes(1), DeadAfter = TimeSpan.FromSeconds(10) }).Follow(StreamSubscription.For([Btc1])));
        await r.WaitForAsync(x => x.Of<StreamConnected>().Count >= 2, Wait, "a reconnect");
        Assert.Equal("closed", r.Of<StreamDisconnected>()[0].Reason);
    }

    [Fact]
    public async Task A_silent_stall_is_detected_as_dead_and_replaced()
    {
        Exchange.Stream.Options.StallAfter = TimeSpan.FromMilliseconds(500);
        using var r = new StreamRecorder(Client().Follow(StreamSubscription.For([Btc1])));
        await r.WaitForAsync(x => x.Of<StreamConnected>().Count >= 2, Wait, "a reconnect after the stall");
        var d = r.Of<StreamDisconnected>()[0];
        Assert.Equal("dead", d.Reason);
        Assert.True(d.WasConnected);
    }

    [Fact]
    public async Task An_abrupt_disconnect_is_reported_and_followed_by_a_new_connection()
    {
        using var r = new StreamRecorder(Client().Follow(StreamSubscription.For([Btc1])));
        await r.WaitForAsync(x => x.Of<StreamCandle>().Count >= 2, Wait, "candles");
        Exchange.Stream.DisconnectAll();
        await r.WaitForAsync(x => x.Of<StreamConnected>().Count >= 2 && x.Of<StreamCandle>().Count(c => c.Snapshot) >= 2, Wait, "a new connection with a new snapshot");
        Assert.Equal("aborted", r.Of<StreamDisconnected>()[0].Reason);
    }

    [Fact]
    public async Task A_refusing_server_is_retried_with_growing_back_off_until_it_accepts()
    {
        Exchange.Stream.Options.RefuseUntil = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(2.5);
        using var r = new StreamRecorder(Client().Follow(StreamSubscription.For([Btc1])));
        await r.WaitForAsync(x => x.Of<StreamConnected>().Count >= 1, Wait, "a connection once the server accepts again");
        var refused = r.Of<StreamDisconnected>();
        Assert.True(refused.Count >= 2);
        Assert.All(refused, d => Assert.Equal("refused", d.Reason));
        Assert.All(refused, d => Assert.False(d.WasConnected));
        Assert.Contains("503", refused[0].Detail, StringComparison.Ordinal);
        Assert.True(refused[^1].RetryIn > refused[0].RetryIn || refused[^1].RetryIn >= TimeSpan.FromMilliseconds(500));
        Assert.True(Exchange.Stream.Refused <= 8, $"{Exchange.Stream.Refused} refused attempts in 2.5 s");
    }

    [Fact]
    public async Task An_unknown_market_is_reported_once_with_its_subscription_and_dropped()
    {
        using var r = new StreamRecorder(Client().Follow(StreamSubscription.For([Btc1, new SeriesKey("KRW-NOPE", Btc1.Unit)])));
        await r.WaitForAsync(x => x.Of<StreamCandle>().Count >= 3, Wait, "candles of the known market");
        var error = Assert.Single(r.Of<StreamError>());
        Assert.Equal("INVALID_PARAM", error.Name);
        Assert.Equal(["KRW-NOPE"], error.DroppedCodes);
        Assert.Contains("2 markets", error.Subscription, StringComparison.Ordinal);
        Assert.DoesNotContain("KRW-NOPE", Exchange.Stream.Subscriptions[^1], StringComparison.Ordinal);
        Assert.All(r.Of<StreamCandle>(), c => Assert.Equal("KRW-BTC", c.Candle.Market));
    }

    [Fact]
    public async Task Malformed_and_truncated_messages_are_reported_and_the_stream_goes_on()
    {
        Exchange.Stream.Options.MalformedEvery = 5;
        Exchange.Stream.Options.TruncatedEvery = 7;
        using var r = new StreamRecorder(Client().Follow(StreamSubscription.For([Btc1, Eth15])));
        await r.WaitForAsync(x => x.Of<StreamMalformed>().Count >= 4 && x.Of<StreamCandle>().Count >= 10, Wait, "malformed messages among good ones");
        Assert.Single(r.Of<StreamConnected>());
    }

    [Fact]
    public async Task A_slow_server_is_not_taken_for_dead()
    {
        // Every message comes 600 ms late, five times the tick: slow, but well within the dead limit.
        // The fake sends one message at a time, so a tick's candle and ticker and the answers to the
        // PINGs take turns: a candle about every 2.4 s. Four of them span more than the dead limit.
        Exchange.Stream.Options.SendDelay = TimeSpan.FromMilliseconds(600);
        var deadAfter = TimeSpan.FromSeconds(3);
        using var r = new StreamRecorder(Client(o => o with { DeadAfter = deadAfter }).Follow(StreamSubscription.For([Btc1])));
        await r.WaitForAsync(x => x.Of<StreamCandle>().Count >= 4, TimeSpan.FromSeconds(30), "candles from a slow server");
        var candles = r.Of<StreamCandle>();
        Assert.True(candles[^1].At - candles[0].At > deadAfter, $"candles spanned only {(candles[^1].At - candles[0].At).TotalSeconds:0.0} s");
        Assert.Empty(r.Of<StreamDisconnected>());
    }

    [Fact]
    public async Task A_subscription_over_the_limit_opens_more_connections()
    {
        var series = new[] { "KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL" }.Select(m => new SeriesKey(m, Btc1.Unit)).ToList();
        using var r = new StreamRecorder(Client(o => o with { MaxPairsPerConnection = 4 }).Follow(StreamSubscription.For(series)));
        await r.WaitForAsync(x => x.Of<StreamConnected>().Count >= 2, Wait, "two connections");
        await r.WaitForAsync(x => x.Of<StreamCandle>().Select(c => c.Candle.Market).Distinct().Count() == 4, Wait, "candles of all four markets");
        Assert.Equal(2, Exchange.Stream.OpenConnections);
    }

    [Fact]
    public async Task With_a_bind_address_the_connection_leaves_from_it()
    {
        using var r = new StreamRecorder(Client(o => o with { BindAddress = System.Net.IPAddress.Parse("127.0.0.2") }).Follow(StreamSubscription.For([Btc1])));
        await r.WaitForAsync(x => x.Of<StreamCandle>().Count >= 1, Wait, "candles");
        Assert.Equal(["127.0.0.2"], Exchange.Stream.AcceptedFrom);
    }

    [Fact]
    public async Task Unsubscribing_closes_the_connection_promptly()
    {
        var r = new StreamRecorder(Client().Follow(StreamSubscription.For([Btc1])));
        await r.WaitForAsync(x => x.Of<StreamCandle>().Count >= 1, Wait, "candles");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        r.Dispose();
        while (Exchange.Stream.OpenConnections > 0 && sw.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(20);
        Assert.Equal(0, Exchange.Stream.OpenConnections);
    }
}
