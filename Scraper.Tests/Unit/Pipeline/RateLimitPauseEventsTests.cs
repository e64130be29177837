using Microsoft.Reactive.Testing;
using Scraper.Exchange;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>
/// Answers come back on many threads at once; the pause events they raise must still reach a
/// subscriber one at a time (Rx's rule: notifications are serialized).
/// </summary>
public class RateLimitPauseEventsTests
{
    [Fact]
    public async Task Pause_events_from_concurrent_answers_never_overlap()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks);
        using var group = new RateLimitGroup("candles", new RateLimitOptions { SlowStart = false }, scheduler);
        var inside = 0;
        var overlapped = 0;
        var events = 0;
        // Each notification waits a while for another to begin: overlapping calls meet here,
        // serialized ones never do.
        using var _ = group.Pauses.Subscribe(_ =>
        {
            if (Interlocked.Increment(ref inside) > 1) Interlocked.Exchange(ref overlapped, 1);
            else SpinWait.SpinUntil(() => Volatile.Read(ref inside) > 1, TimeSpan.FromMilliseconds(200));
            Interlocked.Increment(ref events);
            Interlocked.Decrement(ref inside);
        });
        var leases = new List<RateLimitLease>();
        for (var i = 0; i < 2; i++) group.Acquire().Subscribe(leases.Add);
        scheduler.AdvanceBy(1);
        using var ready = new Barrier(2);
        // Two answers at once, each raising its own pause: one reports the budget spent, one is a 429.
        var answers = new (ExchangeOutcome Outcome, RemainingRequests? Remaining)[]
        {
            (ExchangeOutcome.Success, new RemainingRequests("candles", 0)),
            (ExchangeOutcome.RateLimited, null),
        }.Select((answer, i) => Task.Factory.StartNew(() =>
        {
            ready.SignalAndWait();
            leases[i].Complete(TimeSpan.Zero, answer.Outcome, answer.Remaining, null);
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(answers).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, events);
        Assert.Equal(0, overlapped);
    }
}
