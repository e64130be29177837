using Microsoft.Reactive.Testing;
using Scraper.Exchange;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>
/// A 418 blocks the IP: every group sharing the <see cref="IpBlock"/> stops until it ends, then one
/// probing request — from whichever group asks first — decides for all of them.
/// </summary>
public class RateLimitIpBlockTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly RateLimitOptions Ten = new() { RequestsPerWindow = 10, BaseMargin = TimeSpan.FromMilliseconds(10), SlowStart = false, DefaultBanDuration = TimeSpan.FromSeconds(30) };

    private static TestScheduler NewScheduler()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        return scheduler;
    }

    private static long Ms(RateLimitLease lease) => RateLimitGroupTests.Ms(lease);

    private static List<RateLimitLease> AcquireMany(RateLimitGroup group, int count)
    {
        var grants = new List<RateLimitLease>();
        for (var i = 0; i < count; i++) group.Acquire().Subscribe(grants.Add);
        return grants;
    }

    [Fact]
    public void A_418_in_one_group_stops_the_other_until_the_block_ends_then_one_probe_reopens_both()
    {
        var scheduler = NewScheduler();
        var block = new IpBlock(scheduler, Ten);
        using var candles = new RateLimitGroup("candles", Ten, scheduler, block);
        using var ticker = new RateLimitGroup("ticker", Ten, scheduler, block);
        var pauses = new List<RateLimitPause>();
        candles.Pauses.Subscribe(pauses.Add);
        ticker.Pauses.Subscribe(pauses.Add);
        var slice = AcquireMany(candles, 3);
        scheduler.AdvanceBy(1);

        // All three were on their way: the first 418 blocks the IP, the other two are the same violation.
        slice[0].Complete(TimeSpan.Zero, ExchangeOutcome.Banned, null, TimeSpan.FromSeconds(45));
        slice[1].Complete(TimeSpan.Zero, ExchangeOutcome.Banned, null, TimeSpan.FromSeconds(45));
        slice[2].Complete(TimeSpan.Zero, ExchangeOutcome.Banned, null, null);
        var tickerWaiting = AcquireMany(ticker, 5);
        var candlesWaiting = AcquireMany(candles, 5);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(44.9).Ticks);
        Assert.Empty(tickerWaiting);
        Assert.Empty(candlesWaiting);
        Assert.True(ticker.IsPaused);

        scheduler.AdvanceTo((T0 + TimeSpan.FromSeconds(45)).UtcTicks + 2);
        // Exactly one probe, from the group that asked first.
        var probe = Assert.Single(tickerWaiting.Concat(candlesWaiting));
        Assert.True(probe.IsProbe);
        Assert.Equal(45000, Ms(probe));

        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(20).Ticks);
        probe.Complete(TimeSpan.FromMilliseconds(20), ExchangeOutcome.Success, null, null);
        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(10).Ticks);

        Assert.Equal(10, tickerWaiting.Count + candlesWaiting.Count);
        Assert.All(tickerWaiting.Concat(candlesWaiting).Where(l => l != probe), l => Assert.Equal(45020, Ms(l)));
        // One pause event for the block, not one per group or per 418.
        var pause = Assert.Single(pauses);
        Assert.Equal((PauseReason.Banned, "candles"), (pause.Reason, pause.Group));
        Assert.Equal(T0 + TimeSpan.FromSeconds(45) + TimeSpan.FromTicks(1), pause.Until);
    }

    [Fact]
    public void A_418_to_the_probe_blocks_again_for_longer_and_says_so_once()
    {
        var scheduler = NewScheduler();
        var block = new IpBlock(scheduler, Ten);
        using var candles = new RateLimitGroup("candles", Ten, scheduler, block);
        using var ticker = new RateLimitGroup("ticker", Ten, scheduler, block);
        var pauses = new List<RateLimitPause>();
        candles.Pauses.Subscribe(pauses.Add);
        ticker.Pauses.Subscribe(pauses.Add);
        var first = AcquireMany(ticker, 1);
        scheduler.AdvanceBy(1);
        first[0].Complete(TimeSpan.Zero, ExchangeOutcome.Banned, null, null); // 30 s back-off
        var waiting = AcquireMany(candles, 3);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(31).Ticks);
        var probe = Assert.Single(waiting);
        probe.Complete(TimeSpan.Zero, ExchangeOutcome.Banned, null, null); // at 31 s: 60 s more
        scheduler.AdvanceBy(TimeSpan.FromSeconds(59).Ticks);
        Assert.Single(waiting);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(2).Ticks);

        Assert.Equal(2, waiting.Count);
        Assert.True(waiting[1].IsProbe);
        Assert.Equal(91000, Ms(waiting[1]));
        Assert.Equal([("ticker", PauseReason.Banned), ("candles", PauseReason.Banned)], pauses.Select(p => (p.Group, p.Reason)));
    }

    [Fact]
    public void A_probe_given_up_unanswered_lets_another_probe_go()
    {
        var scheduler = NewScheduler();
        var block = new IpBlock(scheduler, Ten);
        using var candles = new RateLimitGroup("candles", Ten, scheduler, block);
        using var ticker = new RateLimitGroup("ticker", Ten, scheduler, block);
        var first = AcquireMany(candles, 1);
        scheduler.AdvanceBy(1);
        first[0].Complete(TimeSpan.Zero, ExchangeOutcome.Banned, null, TimeSpan.FromSeconds(10));
        var candlesWaiting = AcquireMany(candles, 1);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(11).Ticks);
        var tickerWaiting = AcquireMany(ticker, 1);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(1).Ticks);
        Assert.Empty(tickerWaiting);

        Assert.Single(candlesWaiting).Dispose();
        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(1).Ticks);

        Assert.True(Assert.Single(tickerWaiting).IsProbe);
    }
}
