using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using Scraper.Exchange.Streaming;
using Scraper.Pipeline.Live;

namespace Scraper.Tests.Pipeline.Live;

/// <summary>
/// Which markets the REST ticker asks for on each poll tick, in virtual time: poll ticks every
/// second, a stream ticker per market every second while the stream delivers, stale after 5 s.
/// </summary>
public class TickerGateTests
{
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(5);
    private readonly TestScheduler _scheduler = new();

    [Fact]
    public void Until_the_stream_connects_every_tick_asks_for_every_market()
    {
        var res = Run(Ticks(1, 3), []);

        res.Messages.AssertEqual(
            ReactiveTest.OnNext(At(1), "KRW-A,KRW-B"),
            ReactiveTest.OnNext(At(2), "KRW-A,KRW-B"),
            ReactiveTest.OnNext(At(3), "KRW-A,KRW-B"));
    }

    [Fact]
    public void While_the_stream_delivers_nothing_is_asked_and_a_silent_market_alone_is_asked_for_once_per_stale_period()
    {
        var live = new List<Recorded<System.Reactive.Notification<LiveEvent>>> { Mode(0.5, streaming: true) };
        live.AddRange(Tickers("KRW-A", 0.5, 20.5));
        live.AddRange(Tickers("KRW-B", 0.5, 4.5)); // then silent: its trades stopped reaching us

        var res = Run(Ticks(1, 20), live);

        res.Messages.AssertEqual(
            ReactiveTest.OnNext(At(10), "KRW-B"),
            ReactiveTest.OnNext(At(15), "KRW-B"),
            ReactiveTest.OnNext(At(20), "KRW-B"));
    }

    [Fact]
    public void While_the_follower_polls_every_tick_asks_for_every_market_and_the_stream_coming_back_stops_it()
    {
        var live = new List<Recorded<System.Reactive.Notification<LiveEvent>>> { Mode(0.5, streaming: true), Mode(3.5, streaming: false), Mode(6.5, streaming: true) };
        foreach (var market in new[] { "KRW-A", "KRW-B" })
        {
            live.AddRange(Tickers(market, 0.5, 2.5));
            live.AddRange(Tickers(market, 6.5, 12.5));
        }

        var res = Run(Ticks(1, 12), live);

        res.Messages.AssertEqual(
            ReactiveTest.OnNext(At(4), "KRW-A,KRW-B"),
            ReactiveTest.OnNext(At(5), "KRW-A,KRW-B"),
            ReactiveTest.OnNext(At(6), "KRW-A,KRW-B"));
    }

    [Fact]
    public void A_market_the_stream_never_delivers_is_asked_for_once_the_stale_period_after_connecting_has_passed()
    {
        var live = new List<Recorded<System.Reactive.Notification<LiveEvent>>> { Mode(0.5, streaming: true) };
        live.AddRange(Tickers("KRW-A", 0.5, 8.5));

        var res = Run(Ticks(1, 8), live);

        res.Messages.AssertEqual(ReactiveTest.OnNext(At(6), "KRW-B"));
    }

    private ITestableObserver<string> Run(Recorded<System.Reactive.Notification<long>>[] ticks, List<Recorded<System.Reactive.Notification<LiveEvent>>> live)
    {
        var tickSource = _scheduler.CreateHotObservable(ticks);
        var liveSource = _scheduler.CreateHotObservable([.. live.OrderBy(r => r.Time)]);
        return _scheduler.Start(
            () => TickerGate.Due(["KRW-A", "KRW-B"], tickSource, liveSource, StaleAfter, _scheduler).Select(markets => string.Join(',', markets)),
            created: 0, subscribed: 0, disposed: At(100));
    }

    private static long At(double seconds) => TimeSpan.FromSeconds(seconds).Ticks;

    private static Recorded<System.Reactive.Notification<long>>[] Ticks(int from, int to) =>
        [.. Enumerable.Range(from, to - from + 1).Select(s => ReactiveTest.OnNext(At(s), (long)s))];

    private static Recorded<System.Reactive.Notification<LiveEvent>> Mode(double seconds, bool streaming) =>
        ReactiveTest.OnNext<LiveEvent>(At(seconds), new LiveModeChanged(streaming, streaming ? "connected" : "refused"));

    private static IEnumerable<Recorded<System.Reactive.Notification<LiveEvent>>> Tickers(string market, double from, double to)
    {
        for (var s = from; s <= to; s++)
        {
            var at = DateTimeOffset.UnixEpoch.AddSeconds(s);
            yield return ReactiveTest.OnNext<LiveEvent>(At(s), new LiveStreamEvent(new StreamTicker(at, market, 100m + (decimal)s, at.ToUnixTimeMilliseconds())));
        }
    }
}
