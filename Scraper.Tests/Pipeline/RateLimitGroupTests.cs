using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using Scraper.Exchange;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

public class RateLimitGroupTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly RateLimitOptions Ten = new() { RequestsPerWindow = 10, BaseMargin = TimeSpan.FromMilliseconds(10) };

    private static TestScheduler NewScheduler()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        return scheduler;
    }

    /// <summary>Whole milliseconds since T0 (TestScheduler runs work scheduled for "now" one tick later).</summary>
    internal static long Ms(DateTimeOffset t) => (long)Math.Floor((t - T0).TotalMilliseconds);

    private static List<DateTimeOffset> AcquireMany(RateLimitGroup group, int count)
    {
        var grants = new List<DateTimeOffset>();
        for (var i = 0; i < count; i++) group.Acquire().Subscribe(grants.Add);
        return grants;
    }

    /// <summary>The largest number of grants inside any half-open window of the given length.</summary>
    internal static int MaxInAnyWindow(IReadOnlyList<DateTimeOffset> times, TimeSpan window)
    {
        var sorted = times.OrderBy(t => t).ToList();
        var max = 0;
        for (int i = 0, j = 0; i < sorted.Count; i++)
        {
            while (sorted[i] - sorted[j] >= window) j++;
            max = Math.Max(max, i - j + 1);
        }
        return max;
    }

    [Fact]
    public void Grants_leave_in_slices_of_at_most_N_one_window_plus_margin_apart()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        var grants = AcquireMany(group, 35);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(10).Ticks);

        Assert.Equal(35, grants.Count);
        var slices = grants.GroupBy(Ms).Select(g => (At: g.Key, g.Count())).ToList();
        Assert.Equal([(0L, 10), (1010L, 10), (2020L, 10), (3030L, 5)], slices);
        Assert.Equal(10, MaxInAnyWindow(grants, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Never_more_than_N_in_any_window_when_attempts_arrive_at_random_times()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        var grants = new List<DateTimeOffset>();
        var random = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            scheduler.ScheduleAbsolute(0, T0.UtcTicks + random.NextInt64(TimeSpan.FromSeconds(20).Ticks),
                (_, _) => group.Acquire().Subscribe(grants.Add));
        }

        scheduler.AdvanceBy(TimeSpan.FromSeconds(60).Ticks);

        Assert.Equal(300, grants.Count);
        Assert.True(MaxInAnyWindow(grants, TimeSpan.FromMilliseconds(1010)) <= 10);
    }

    [Fact]
    public void A_disposed_waiter_spends_no_budget()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        var first = AcquireMany(group, 10);
        var cancelled = new List<DateTimeOffset>();
        var subscription = group.Acquire().Subscribe(cancelled.Add);
        var later = AcquireMany(group, 1);
        scheduler.AdvanceBy(1);
        subscription.Dispose();

        scheduler.AdvanceBy(TimeSpan.FromSeconds(2).Ticks);

        Assert.Empty(cancelled);
        Assert.Equal(1010, Ms(Assert.Single(later)));
        Assert.Equal(10, first.Count);
    }

    [Fact]
    public void Remaining_sec_zero_for_the_first_request_pauses_the_group_for_one_window()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        var first = AcquireMany(group, 1);
        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(50).Ticks);
        Assert.Equal(0, Ms(first[0]));
        // Someone else on this IP has spent the budget: the exchange says nothing is left.
        group.OnResponse(first[0], TimeSpan.FromMilliseconds(50), ExchangeOutcome.Success, new RemainingRequests("candles", 0), null);
        var next = AcquireMany(group, 1);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(3).Ticks);

        Assert.Equal(1010, Ms(Assert.Single(next)));
    }

    [Fact]
    public void Remaining_that_matches_our_own_count_changes_nothing()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        var first = AcquireMany(group, 3);
        scheduler.AdvanceBy(1);
        group.OnResponse(first[2], TimeSpan.FromMilliseconds(20), ExchangeOutcome.Success, new RemainingRequests("candles", 7), null);
        var next = AcquireMany(group, 7);
        var over = AcquireMany(group, 1);

        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(100).Ticks);

        Assert.Equal(7, next.Count);
        Assert.Empty(over);
    }

    [Fact]
    public void A_429_pauses_the_group_and_lowers_the_pace_which_recovers_later()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        var pauses = new List<RateLimitPause>();
        group.Pauses.Subscribe(pauses.Add);
        var first = AcquireMany(group, 1);
        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(100).Ticks);

        group.OnResponse(first[0], TimeSpan.FromMilliseconds(100), ExchangeOutcome.RateLimited, null, null);
        var next = AcquireMany(group, 1);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(5).Ticks);

        var pause = Assert.Single(pauses);
        Assert.Equal(PauseReason.RateLimited, pause.Reason);
        // paused for one (now wider) window from the 429: 100 ms + 1000 + 10 + 100 penalty.
        Assert.Equal(1210, Ms(Assert.Single(next)));
        Assert.Equal(TimeSpan.FromMilliseconds(1110), group.CurrentWindow);
        Assert.Equal(5, group.CurrentPermits);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(30).Ticks);
        Assert.Equal(TimeSpan.FromMilliseconds(1060), group.CurrentWindow);
        scheduler.AdvanceBy(TimeSpan.FromMinutes(10).Ticks);
        Assert.Equal(TimeSpan.FromMilliseconds(1010), group.CurrentWindow);
        Assert.Equal(10, group.CurrentPermits);
    }

    [Fact]
    public void After_a_429_a_slice_releases_fewer_attempts()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        var first = AcquireMany(group, 10);
        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(20).Ticks);
        // The exchange allowed only five of the ten: five 429s arrive together.
        for (var i = 0; i < 5; i++) group.OnResponse(first[i], TimeSpan.FromMilliseconds(20), ExchangeOutcome.RateLimited, null, null);
        var next = AcquireMany(group, 10);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(1.2).Ticks);

        Assert.Equal(5, group.CurrentPermits);
        Assert.Equal(5, next.Count);
    }

    [Fact]
    public void A_418_stops_the_group_for_the_block_duration_the_exchange_gives()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        var first = AcquireMany(group, 1);
        scheduler.AdvanceBy(1);
        group.OnResponse(first[0], TimeSpan.Zero, ExchangeOutcome.Banned, null, TimeSpan.FromSeconds(45));
        var next = AcquireMany(group, 1);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(44).Ticks);
        Assert.Empty(next);
        Assert.True(group.IsPaused);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(2).Ticks);

        Assert.Equal(45000, Ms(Assert.Single(next)));
    }

    [Fact]
    public void A_418_without_duration_backs_off_longer_each_time()
    {
        var scheduler = NewScheduler();
        var options = Ten with { DefaultBanDuration = TimeSpan.FromSeconds(30) };
        using var group = new RateLimitGroup("candles", options, scheduler);

        var a = AcquireMany(group, 1);
        scheduler.AdvanceBy(1);
        group.OnResponse(a[0], TimeSpan.Zero, ExchangeOutcome.Banned, null, null);
        var b = AcquireMany(group, 1);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(31).Ticks);
        Assert.Equal(30000, Ms(Assert.Single(b)));

        group.OnResponse(b[0], TimeSpan.Zero, ExchangeOutcome.Banned, null, null);
        var c = AcquireMany(group, 1);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(120).Ticks);
        Assert.Equal(91000, Ms(Assert.Single(c)));
    }

    [Fact]
    public void Stop_completes_waiting_attempts_without_a_permit()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        var grants = AcquireMany(group, 15);
        scheduler.AdvanceBy(1);
        var completed = 0;
        group.Acquire().Subscribe(_ => { }, () => completed++);

        group.Stop();
        scheduler.AdvanceBy(TimeSpan.FromSeconds(5).Ticks);

        Assert.Equal(10, grants.Count);
        Assert.Equal(1, completed);
        Assert.Equal(0, group.Waiting);
    }

    [Fact]
    public void Response_time_spread_widens_the_margin_up_to_its_cap()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        for (var i = 0; i < 64; i++)
        {
            group.OnResponse(T0, TimeSpan.FromMilliseconds(20 + (i % 2 == 0 ? 0 : 60)), ExchangeOutcome.Success, null, null);
        }
        Assert.Equal(TimeSpan.FromMilliseconds(1060), group.CurrentWindow);
    }
}
