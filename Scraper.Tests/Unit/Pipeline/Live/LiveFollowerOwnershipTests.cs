using System.Reactive.Subjects;
using Scraper.Domain;
using Scraper.Exchange.Streaming;
using Scraper.Pipeline;
using Scraper.Pipeline.Live;

namespace Scraper.Tests.Pipeline.Live;

/// <summary>
/// The live follower of one scraper in a fleet: every scraper receives every series from the stream,
/// but writes and reconciles only the series it follows now (a subject stands for the follow leases).
/// </summary>
public sealed partial class LiveFollowerTests
{
    private readonly BehaviorSubject<IReadOnlySet<SeriesKey>> _followed = new(new HashSet<SeriesKey>());

    private LiveFollower FleetFollower()
    {
        var follower = new LiveFollower([Btc1, BtcDay], _stream, _collector, _store,
            new LiveOptions { ReconcileEvery = TimeSpan.FromMinutes(5) }, _time, _scheduler, new LogLines().For<LiveFollower>(), _followed);
        follower.Events.Subscribe(_events.Enqueue);
        return follower;
    }

    /// <summary>An update of the candle forming now (the fake's trades of the first minute, moved to now).</summary>
    private StreamCandle FormingUpdate()
    {
        var now = _time.GetUtcNow();
        var start = Btc1.Unit.AlignDown(now);
        var trades = _data.CandleAt("KRW-BTC", Btc1.Unit, Btc1.Unit.AlignDown(T0), T0)!;
        return Update(trades with { StartUtc = start, Timestamp = now.ToUnixTimeMilliseconds() }, now);
    }

    private long StoredSince(DateTimeOffset start) => _store.CountCandles(Btc1, Btc1.Unit.AlignDown(start), null);

    [Fact]
    public async Task Series_another_scraper_follows_are_neither_written_nor_reconciled()
    {
        _ = FleetFollower().RunAsync(_stop.Token);
        _stream.OnNext(new StreamConnected(T0, 0, 2));
        _stream.OnNext(FormingUpdate());
        await RunForAsync(TimeSpan.FromMinutes(3));
        _stream.OnNext(FormingUpdate());
        await RunForAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(0, _client.Sent);
        Assert.Equal(0, _store.CountCandles(Btc1));
        Assert.Empty(_store.GetCoverage(Btc1));
        Assert.Empty(_events.OfType<LiveReconcileStarted>());
        Assert.Empty(_events.OfType<LiveStored>());
    }

    [Fact]
    public async Task A_series_taken_over_is_reconciled_at_once_and_its_stream_candles_are_written_from_then_on()
    {
        _ = FleetFollower().RunAsync(_stop.Token);
        _stream.OnNext(new StreamConnected(T0, 0, 2));
        await RunForAsync(TimeSpan.FromMinutes(3));
        var reconciledBefore = _events.OfType<LiveReconciled>().Count();

        var takeover = _time.GetUtcNow();
        _followed.OnNext(new HashSet<SeriesKey> { Btc1 });
        await SettleAsync(() => _events.OfType<LiveReconciled>().Count() > reconciledBefore, "a reconciliation of the series taken over");

        Assert.True(_time.GetUtcNow() - takeover <= TimeSpan.FromSeconds(2), $"reconciled {(_time.GetUtcNow() - takeover).TotalSeconds:0.0} s after the takeover");
        var since = Btc1.Unit.AlignDown(T0 - TimeSpan.FromHours(2));
        var coverableEnd = WindowPlanner.CoverableEnd(Btc1, takeover);
        Assert.Equal([new TimeRange(since, coverableEnd)], _store.GetCoverage(Btc1));
        Assert.Equal(_data.ClosedCandles("KRW-BTC", Btc1.Unit, since, coverableEnd, takeover), _store.ReadCandles(Btc1, null, coverableEnd).ToList());
        Assert.Empty(_store.GetCoverage(BtcDay)); // not taken over

        var forming = FormingUpdate();
        _stream.OnNext(forming);
        await SettleAsync(() => StoredSince(forming.Candle.StartUtc) > 0, "the stream candle of the series taken over stored");
        Assert.Equal(forming.Candle, _store.ReadCandles(Btc1, forming.Candle.StartUtc, null).Single());

        // The minute of the takeover is proven once it can be covered, not a reconciliation period later.
        await RunForAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(WindowPlanner.CoverableEnd(Btc1, _time.GetUtcNow()), _store.GetCoverage(Btc1)[^1].End);
    }

    [Fact]
    public async Task A_series_taken_over_gets_the_forming_candle_the_stream_sent_while_another_scraper_followed_it_without_waiting_for_the_next()
    {
        _ = FleetFollower().RunAsync(_stop.Token);
        _stream.OnNext(new StreamConnected(T0, 0, 2));
        await RunForAsync(TimeSpan.FromMinutes(3));
        var forming = FormingUpdate();
        _stream.OnNext(forming);
        await RunForAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(0, StoredSince(forming.Candle.StartUtc)); // another scraper's until now

        // An illiquid market may send nothing for minutes: the candle received before the takeover is what the stream knows.
        _followed.OnNext(new HashSet<SeriesKey> { Btc1 });
        await SettleAsync(() => StoredSince(forming.Candle.StartUtc) > 0, "the forming candle received before the takeover stored");
        Assert.Equal(forming.Candle, _store.ReadCandles(Btc1, forming.Candle.StartUtc, null).Single());
    }

    [Fact]
    public async Task A_series_lost_to_another_scraper_is_no_longer_written_or_reconciled()
    {
        _followed.OnNext(new HashSet<SeriesKey> { Btc1, BtcDay });
        _ = FleetFollower().RunAsync(_stop.Token);
        _stream.OnNext(new StreamConnected(T0, 0, 2));
        await SettleAsync(() => _events.OfType<LiveReconciled>().Any(), "the first reconciliation");
        var sent = _client.Sent;

        _followed.OnNext(new HashSet<SeriesKey> { BtcDay });
        await RunForAsync(TimeSpan.FromSeconds(1));
        var lostAt = _time.GetUtcNow();
        _stream.OnNext(FormingUpdate());
        await RunForAsync(TimeSpan.FromMinutes(12));
        _stream.OnNext(FormingUpdate());
        await RunForAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(sent, _client.Sent); // following it: a follow-up and a reconciliation every 5 minutes
        Assert.Equal(0, StoredSince(lostAt));
    }
}
