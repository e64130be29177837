using Microsoft.Reactive.Testing;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>
/// A process that starts while another's requests fill the exchange's window (a predecessor that
/// just ended, another tool): its first request is refused before any request of its own was
/// counted, so its own pace cannot be the cause.
/// </summary>
public class RateLimitRestartTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Way = TimeSpan.FromMilliseconds(10);

    private static TestScheduler NewScheduler()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        return scheduler;
    }

    private static List<DateTimeOffset> Run(TestScheduler scheduler, RateLimitGroup group, SimulatedExchange exchange, int requests)
    {
        var arrivals = new List<DateTimeOffset>();
        for (var i = 0; i < requests; i++)
            group.Acquire().Subscribe(lease => exchange.Send(lease, Way, Way, () => arrivals.Add(scheduler.Now - Way)));
        return arrivals;
    }

    [Fact]
    public void A_429_to_the_first_request_while_a_predecessors_requests_fill_the_window_costs_a_window_not_the_pace()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", new RateLimitOptions(), scheduler);
        var exchange = new SimulatedExchange(scheduler);
        exchange.Counted.AddRange(Enumerable.Repeat(T0.AddMilliseconds(-300), 10));

        var arrivals = Run(scheduler, group, exchange, 150);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(60).Ticks);

        Assert.Equal(1, exchange.Refused);
        Assert.Equal(150, arrivals.Count);
        Assert.Equal(10, group.CurrentPermits);
        // At the full pace 150 requests take about 15 s after the refused probe's window; at half it, 30.
        var span = arrivals.Max() - T0;
        Assert.True(span < TimeSpan.FromSeconds(18.5), $"the last request arrived {span.TotalSeconds:0.0} s after the start");
        Assert.True(RateLimitGroupTests.MaxInAnyWindow(exchange.Counted, TimeSpan.FromSeconds(1)) <= 10);
    }

    [Fact]
    public void A_second_429_in_a_row_at_the_start_lowers_the_pace_as_any_429_does_and_no_slice_follows_the_first()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", new RateLimitOptions(), scheduler);
        var exchange = new SimulatedExchange(scheduler);
        // Another client keeps the window full: ten before the start, ten more 0.8 s after it.
        exchange.Counted.AddRange(Enumerable.Repeat(T0.AddMilliseconds(-300), 10));
        exchange.Counted.AddRange(Enumerable.Repeat(T0.AddMilliseconds(800), 10));

        Run(scheduler, group, exchange, 50);
        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(1300).Ticks);

        Assert.Equal(2, exchange.Refused);
        Assert.Equal(5, group.CurrentPermits);
    }

    [Fact]
    public void Until_own_places_left_is_when_the_last_request_of_ours_leaves_the_window()
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", new RateLimitOptions(), scheduler);
        var exchange = new SimulatedExchange(scheduler);
        Assert.Equal(TimeSpan.Zero, group.UntilOwnPlacesLeft());

        var arrivals = Run(scheduler, group, exchange, 12);
        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(5).Ticks);
        // The probe is on its way: it may arrive now.
        Assert.InRange(group.UntilOwnPlacesLeft(), TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(1100));

        scheduler.AdvanceBy(TimeSpan.FromMilliseconds(1200).Ticks);
        Assert.Equal(12, arrivals.Count);
        var now = scheduler.Now;
        var left = group.UntilOwnPlacesLeft();
        // Booked no earlier than it arrived and no later than its answer came back.
        Assert.InRange(left, arrivals.Max() + TimeSpan.FromSeconds(1) - now, arrivals.Max() + 2 * Way + TimeSpan.FromMilliseconds(1010) - now);
        scheduler.AdvanceBy(left.Ticks);
        Assert.Equal(TimeSpan.Zero, group.UntilOwnPlacesLeft());
    }
}
