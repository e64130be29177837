using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using Microsoft.Reactive.Testing;
using Scraper.Exchange;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>
/// The limiter when the wall clock steps (an NTP step, a resumed VM): it must neither stall for the
/// size of the step nor free permits early, because every duration it keeps runs on a monotonic
/// clock. Virtual time stands for the monotonic clock; the scheduler's <c>Now</c> is a wall clock
/// the test steps.
/// </summary>
public class RateLimitClockStepTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly RateLimitOptions Ten = new() { RequestsPerWindow = 10, BaseMargin = TimeSpan.FromMilliseconds(10), SlowStart = false };

    /// <summary>
    /// A wall-clock scheduler over virtual time. Relative work runs after its delay whatever the
    /// wall clock does (timers are monotonic); absolute work is due at a wall time and is
    /// re-evaluated when the clock steps, as Rx's own <c>LocalScheduler</c> does on a system clock
    /// change. Its stopwatch is the virtual (monotonic) one.
    /// </summary>
    private sealed class WallClockScheduler(TestScheduler monotonic) : IScheduler, IServiceProvider
    {
        private readonly List<AbsoluteWork> _absolute = [];
        private TimeSpan _step;

        public DateTimeOffset Now => monotonic.Now + _step;

        public void Step(TimeSpan by)
        {
            _step += by;
            foreach (var work in _absolute.ToList()) work.Arm();
        }

        public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action) =>
            monotonic.Schedule(state, (_, s) => action(this, s));

        public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action) =>
            monotonic.Schedule(state, dueTime, (_, s) => action(this, s));

        public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action)
        {
            var work = new AbsoluteWork(this, dueTime, () => action(this, state));
            _absolute.Add(work);
            work.Arm();
            return work;
        }

        object? IServiceProvider.GetService(Type serviceType) => ((IServiceProvider)monotonic).GetService(serviceType);

        private sealed class AbsoluteWork(WallClockScheduler owner, DateTimeOffset due, Func<IDisposable> run) : IDisposable
        {
            private readonly SerialDisposable _timer = new();

            public void Arm() => _timer.Disposable = owner.Schedule(due - owner.Now, () =>
            {
                owner._absolute.Remove(this);
                run();
            });

            public void Dispose()
            {
                owner._absolute.Remove(this);
                _timer.Dispose();
            }
        }
    }

    private static long Ms(DateTimeOffset monotonic) => RateLimitGroupTests.Ms(monotonic);

    [Theory]
    [InlineData(-1)]
    [InlineData(+1)]
    public void A_wall_clock_step_neither_stalls_the_slices_nor_frees_permits_early(int hours)
    {
        var monotonic = new TestScheduler();
        monotonic.AdvanceTo(T0.UtcTicks);
        var wall = new WallClockScheduler(monotonic);
        using var group = new RateLimitGroup("candles", Ten, wall);
        var granted = new List<DateTimeOffset>(); // on the monotonic clock
        for (var i = 0; i < 35; i++)
        {
            group.Acquire().Subscribe(g =>
            {
                granted.Add(monotonic.Now);
                g.Complete(TimeSpan.Zero, ExchangeOutcome.Success, null, null);
            });
        }

        monotonic.AdvanceBy(TimeSpan.FromMilliseconds(500).Ticks);
        wall.Step(TimeSpan.FromHours(hours));
        monotonic.AdvanceBy(TimeSpan.FromSeconds(10).Ticks);

        Assert.Equal([(0L, 10), (1010L, 10), (2020L, 10), (3030L, 5)], granted.GroupBy(Ms).Select(g => (g.Key, g.Count())));
        Assert.Equal(10, RateLimitGroupTests.MaxInAnyWindow(granted, TimeSpan.FromSeconds(1)));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(+1)]
    public void A_418_lasts_its_block_duration_through_a_wall_clock_step(int hours)
    {
        var monotonic = new TestScheduler();
        monotonic.AdvanceTo(T0.UtcTicks);
        var wall = new WallClockScheduler(monotonic);
        using var group = new RateLimitGroup("candles", Ten, wall);
        var first = new List<RateLimitLease>();
        group.Acquire().Subscribe(first.Add);
        monotonic.AdvanceBy(1);
        first[0].Complete(TimeSpan.Zero, ExchangeOutcome.Banned, null, TimeSpan.FromSeconds(45));
        var next = new List<DateTimeOffset>();
        group.Acquire().Subscribe(_ => next.Add(monotonic.Now));

        monotonic.AdvanceBy(TimeSpan.FromSeconds(10).Ticks);
        wall.Step(TimeSpan.FromHours(hours));
        monotonic.AdvanceBy(TimeSpan.FromSeconds(34).Ticks);
        Assert.Empty(next);
        Assert.True(group.IsPaused);
        monotonic.AdvanceBy(TimeSpan.FromSeconds(2).Ticks);

        Assert.Equal(45000, Ms(Assert.Single(next)));
        Assert.False(group.IsPaused);
    }

    [Fact]
    public void The_pause_event_tells_the_end_of_the_pause_in_wall_time()
    {
        var monotonic = new TestScheduler();
        monotonic.AdvanceTo(T0.UtcTicks);
        var wall = new WallClockScheduler(monotonic);
        using var group = new RateLimitGroup("candles", Ten, wall);
        var pauses = new List<RateLimitPause>();
        group.Pauses.Subscribe(pauses.Add);
        var first = new List<RateLimitLease>();
        group.Acquire().Subscribe(first.Add);
        monotonic.AdvanceBy(1);
        wall.Step(TimeSpan.FromHours(-1));

        first[0].Complete(TimeSpan.Zero, ExchangeOutcome.Banned, null, TimeSpan.FromSeconds(45));

        Assert.Equal(wall.Now + TimeSpan.FromSeconds(45), Assert.Single(pauses).Until);
    }
}
