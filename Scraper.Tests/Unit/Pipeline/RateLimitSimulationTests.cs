using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;
using Scraper.Exchange;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>
/// The limiter against a simulated exchange in virtual time: the exchange counts each request when it
/// arrives (sliding 1 s window, 10 allowed), answers after a latency, and reports Remaining-Req.
/// Arrival is delayed by random jitter and, in one scenario, by a stall of the exchange that holds
/// every request arriving during it and then counts them all at once, as an overloaded front end
/// does. The limiter must never make the exchange count an eleventh request in a window.
/// </summary>
public class RateLimitSimulationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static TheoryData<int, int, int, int, int> Cases => new()
    {
        // latency ms, jitter ms, stall start ms (0 = none), stall length ms, requests another
        // client (the process this one replaced) sent 300 ms before the start
        { 20, 0, 0, 0, 0 },
        { 20, 50, 0, 0, 0 },
        { 1000, 50, 0, 0, 0 },
        { 20, 50, 3000, 800, 0 },
        { 20, 0, 3500, 800, 0 },
        { 200, 50, 4200, 1500, 0 },
        { 1000, 0, 5100, 2500, 0 },
        { 20, 0, 0, 0, 9 },
        { 200, 50, 0, 0, 6 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_exchange_never_counts_more_than_ten_in_a_second(int latencyMs, int jitterMs, int stallAtMs, int stallMs, int othersBefore)
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        var options = new RateLimitOptions { RequestsPerWindow = 10 }; // the daemon's defaults
        using var group = new RateLimitGroup("candles", options, scheduler);
        var random = new Random(latencyMs * 31 + jitterMs * 7 + stallAtMs);
        var arrivals = new List<DateTimeOffset>(); // counted by the exchange
        arrivals.AddRange(Enumerable.Repeat(T0.AddMilliseconds(-300), othersBefore));
        var refused = 0;
        const int Requests = 300;

        DateTimeOffset ArrivalOf(DateTimeOffset sent)
        {
            var at = sent + TimeSpan.FromMilliseconds(1 + random.Next(0, jitterMs + 1));
            var stallStart = T0.AddMilliseconds(stallAtMs);
            var stallEnd = stallStart.AddMilliseconds(stallMs);
            return stallMs > 0 && at >= stallStart && at < stallEnd ? stallEnd : at;
        }

        for (var i = 0; i < Requests; i++)
        {
            group.Acquire().Subscribe(lease =>
            {
                var arrival = ArrivalOf(scheduler.Now);
                scheduler.Schedule(arrival, () =>
                {
                    var now = scheduler.Now;
                    var inWindow = arrivals.Count(a => a > now - TimeSpan.FromSeconds(1));
                    var allowed = inWindow < 10;
                    if (allowed) arrivals.Add(now);
                    else refused++;
                    var remaining = allowed ? 10 - inWindow - 1 : 0;
                    scheduler.Schedule(TimeSpan.FromMilliseconds(latencyMs + random.Next(0, 3)), () =>
                        lease.Complete(scheduler.Now - lease.GrantedAt, allowed ? ExchangeOutcome.Success : ExchangeOutcome.RateLimited,
                            new RemainingRequests("candles", remaining), null));
                });
            });
        }

        scheduler.AdvanceBy(TimeSpan.FromSeconds(120).Ticks);

        Assert.Equal(0, refused);
        Assert.Equal(Requests + othersBefore, arrivals.Count);
        Assert.True(RateLimitGroupTests.MaxInAnyWindow(arrivals, TimeSpan.FromSeconds(1)) <= 10);
        var span = (arrivals[^1] - arrivals[othersBefore]).TotalSeconds;
        var rate = (Requests - 1) / span;
        // Not a speed test (virtual time): a guard that safety did not come from crawling.
        output.WriteLine($"{rate:0.00} requests/s");
        Assert.True(rate > 8.0, $"{rate:0.00} requests/s");
    }
}
