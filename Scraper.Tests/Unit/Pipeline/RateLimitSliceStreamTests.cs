using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using Scraper.Exchange;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>The group's slices as a stream a reader can watch: when each left and how many permits it held.</summary>
public class RateLimitSliceStreamTests : ReactiveTest
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly RateLimitOptions Ten = new() { RequestsPerWindow = 10, BaseMargin = TimeSpan.FromMilliseconds(10), SlowStart = false };

    private static long At(double ms) => T0.UtcTicks + TimeSpan.FromMilliseconds(ms).Ticks + 1; // work due "now" runs one tick later

    private static (TestScheduler Scheduler, RateLimitGroup Group, ITestableObserver<(long, int, bool)> Slices) Start(RateLimitOptions options, int attempts)
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        var group = new RateLimitGroup("candles", options, scheduler);
        var slices = scheduler.CreateObserver<(long, int, bool)>();
        group.Slices.Select(s => (RateLimitGroupTests.Ms(s.At), s.Permits, s.Probe)).Subscribe(slices);
        for (var i = 0; i < attempts; i++)
            group.Acquire().Subscribe(lease => lease.Complete(TimeSpan.Zero, ExchangeOutcome.Success, null, null));
        return (scheduler, group, slices);
    }

    [Fact]
    public void Thirty_five_attempts_leave_as_slices_of_ten_one_window_and_margin_apart()
    {
        var (scheduler, group, slices) = Start(Ten, 35);
        using var _ = group;

        scheduler.AdvanceBy(TimeSpan.FromSeconds(10).Ticks);

        slices.Messages.AssertEqual(
            OnNext(At(0), (0L, 10, false)),
            OnNext(At(1010), (1010L, 10, false)),
            OnNext(At(2020), (2020L, 10, false)),
            OnNext(At(3030), (3030L, 5, false)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    public void No_window_of_the_exchange_ever_holds_more_than_N_permits(int perWindow)
    {
        var (scheduler, group, slices) = Start(Ten with { RequestsPerWindow = perWindow }, 200);
        using var _ = group;

        scheduler.AdvanceBy(TimeSpan.FromMinutes(10).Ticks);

        var permits = slices.Messages.SelectMany(m => Enumerable.Repeat(T0.AddMilliseconds(m.Value.Value.Item1), m.Value.Value.Item2)).ToList();
        Assert.Equal(200, permits.Count);
        Assert.Equal(perWindow, RateLimitGroupTests.MaxInAnyWindow(permits, TimeSpan.FromSeconds(1)));
    }
}
