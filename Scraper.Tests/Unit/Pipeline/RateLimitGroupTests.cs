using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using Scraper.Exchange;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

public class RateLimitGroupTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly RateLimitOptions Ten = new() { RequestsPerWindow = 10, BaseMargin = TimeSpan.FromMilliseconds(10), SlowStart = false };

    private static TestScheduler NewScheduler()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        return scheduler;
    }

    /// <summary>Whole milliseconds since T0 (TestScheduler runs work scheduled for "now" one tick later).</summary>
    internal static long Ms(DateTimeOffset t) => (long)Math.Floor((t - T0).TotalMilliseconds);

    internal static long Ms(RateLimitLease lease) => Ms(lease.GrantedAt);

    internal static List<DateTimeOffset> Times(IEnumerable<RateLimitLease> leases) => [.. leases.Select(l => l.GrantedAt)];

    private static List<RateLimitLease> AcquireMany(RateLimitGroup group, int count)
    {
        var grants = new List<RateLimitLease>();
        for (var i = 0; i < count; i++) group.Acquire().Subscribe(grants.Add);
        return grants;
    }

    /// <summary>Attempts whose answer comes back at once (a 0 ms round trip) with success.</summary>
    private static List<RateLimitLease> AcquireAnswered(RateLimitGroup group, int count)
    {
        var grants = new List<RateLimitLease>();
        for (var i = 0; i < count; i++)
        {
            group.Acquire().Subscribe(g =>
            {
                grants.Add(g);
                g.Complete(TimeSpan.Zero, ExchangeOutcome.Success, null, null);
            });
        }
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
        var grants = AcquireAnswered(group, 35);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(10).Ticks);

        Assert.Equal(35, grants.Count);
        var slices = grants.GroupBy(Ms).Select(g => (At: g.Key, g.Count())).ToList();
        Assert.Equal([(0L, 10), (1010L, 10), (2020L, 10), (3030L, 5)], slices);
        Assert.Equal(10, MaxInAnyWindow(Times(grants), TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Never_more_than_N_in_any_window_when_attempts_arrive_at_random_times()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        var grants = new List<RateLimitLease>();
        var random = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            scheduler.ScheduleAbsolute(0, T0.UtcTicks + random.NextInt64(TimeSpan.FromSeconds(20).Ticks),
                (_, _) => group.Acquire().Subscribe(g =>
                {
                    grants.Add(g);
                    g.Complete(TimeSpan.FromMilliseconds(random.Next(1, 30)), ExchangeOutcome.Success, null, null);
                }));
        }

        scheduler.AdvanceBy(TimeSpan.FromSeconds(60).Ticks);

        Assert.Equal(300, grants.Count);
        Assert.True(MaxInAnyWindow(Times(grants), TimeSpan.FromMilliseconds(1010)) <= 10);
    }

    [Fact]
    public void A_disposed_waiter_spends_no_budget()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        var first = AcquireAnswered(group, 10);
        var cancelled = new List<RateLimitLease>();
        var subscription = group.Acquire().Subscribe(cancelled.Add);
        var later = AcquireAnswered(group, 1);
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
        first[0].Complete(TimeSpan.FromMilliseconds(50), ExchangeOutcome.Success, new RemainingRequests("candles", 0), null);
        var next = AcquireMany(group, 1);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(3).Ticks);

        // With no earlier round trip to compare, the request may have arrived as late as its
        // answer (50 ms): the exhausted window lasts until 50 + 1010 ms.
        Assert.Equal(1060, Ms(Assert.Single(next)));
    }

    [Fact]
    public void Remaining_that_matches_our_own_count_changes_nothing()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        var first = AcquireMany(group, 3);
        scheduler.AdvanceBy(1);
        first[2].Complete(TimeSpan.FromMilliseconds(20), ExchangeOutcome.Success, new RemainingRequests("candles", 7), null);
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

        first[0].Complete(TimeSpan.FromMilliseconds(100), ExchangeOutcome.RateLimited, null, null);
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
        for (var i = 0; i < 5; i++) first[i].Complete(TimeSpan.FromMilliseconds(20), ExchangeOutcome.RateLimited, null, null);
        for (var i = 5; i < 10; i++) first[i].Complete(TimeSpan.FromMilliseconds(20), ExchangeOutcome.Success, null, null);
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
        first[0].Complete(TimeSpan.Zero, ExchangeOutcome.Banned, null, TimeSpan.FromSeconds(45));
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
        a[0].Complete(TimeSpan.Zero, ExchangeOutcome.Banned, null, null);
        var b = AcquireMany(group, 1);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(31).Ticks);
        Assert.Equal(30000, Ms(Assert.Single(b)));

        b[0].Complete(TimeSpan.Zero, ExchangeOutcome.Banned, null, null);
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
    public void A_request_held_back_on_its_way_counts_from_when_it_can_have_arrived()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        // Twenty normal 5 ms round trips establish the fastest round trip.
        for (var i = 0; i < 20; i++) group.RoundTrips.Add(TimeSpan.FromMilliseconds(5));
        scheduler.AdvanceBy(TimeSpan.FromSeconds(2).Ticks);
        var grants = AcquireMany(group, 10);
        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(5).Ticks);
        grants[0].Complete(TimeSpan.FromMilliseconds(5), ExchangeOutcome.Success, null, null); // a normal 5 ms round trip
        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(795).Ticks);
        // The other nine were stuck in this process for most of a second, then answered.
        for (var i = 1; i < 10; i++) grants[i].Complete(TimeSpan.FromMilliseconds(800), ExchangeOutcome.Success, null, null);
        var next = AcquireMany(group, 10);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(3).Ticks);

        // The quick one counts from 5 - 5 ms (frees at 2000 + 1010); the nine from 800 - 5 ms.
        Assert.Equal([(3010L, 1), (3805L, 9)], next.GroupBy(Ms).Select(g => (g.Key, g.Count())));
    }

    [Fact]
    public void Until_enough_round_trips_are_known_a_permit_counts_from_its_answer()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten, scheduler);
        var grants = AcquireMany(group, 10);
        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(300).Ticks);
        foreach (var g in grants) g.Complete(TimeSpan.FromMilliseconds(300), ExchangeOutcome.Success, null, null);
        var next = AcquireMany(group, 10);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(3).Ticks);

        Assert.Equal([(1310L, 10)], next.GroupBy(Ms).Select(g => (g.Key, g.Count())));
    }

    [Fact]
    public void An_unanswered_request_holds_its_place_for_the_in_flight_hold()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten with { MaxInFlightHold = TimeSpan.FromSeconds(11) }, scheduler);
        AcquireMany(group, 10);
        var next = AcquireMany(group, 1);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(10.9).Ticks);
        Assert.Empty(next);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(1).Ticks);

        Assert.Equal(11000, Ms(Assert.Single(next)));
    }

    [Fact]
    public void Slow_start_sends_one_request_and_releases_the_rest_when_it_is_answered()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", Ten with { SlowStart = true, MaxInFlightHold = TimeSpan.FromSeconds(5) }, scheduler);
        var grants = new List<RateLimitLease>();
        for (var i = 0; i < 25; i++)
        {
            group.Acquire().Subscribe(g =>
            {
                grants.Add(g);
                if (grants.Count > 1) g.Complete(TimeSpan.Zero, ExchangeOutcome.Success, null, null);
            });
        }

        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(1500).Ticks);
        Assert.Single(grants);

        // Answered 1.5 s later: it may have reached the exchange just now, so it counts from now.
        grants[0].Complete(TimeSpan.FromMilliseconds(1500), ExchangeOutcome.Success, new RemainingRequests("candles", 9), null);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(5).Ticks);

        Assert.Equal(25, grants.Count);
        Assert.Equal([(0L, 1), (1500L, 9), (2510L, 10), (3520L, 5)], grants.GroupBy(Ms).Select(g => (g.Key, g.Count())));
    }
}
