using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>
/// The start of a group with the daemon's defaults (slow start, 10 per second, 10 ms margin) against
/// an exchange in virtual time: it must reach the ceiling without the exchange ever counting an
/// eleventh request in a second — with a predecessor's requests still in
/// the window, connections that pay a set-up cost on their first request, or a stall at the exchange.
/// </summary>
public class RateLimitStartTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static TestScheduler NewScheduler()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        return scheduler;
    }

    // latency ms, share of it on the way there, connection set-up ms, requests of the process this
    // one replaced still in the window (300 ms old), exchange stall from 50 ms until (ms)
    [Theory]
    [InlineData(20, 0, 0, 0, 0)]
    [InlineData(20, 0.5, 60, 0, 0)]
    [InlineData(20, 0.5, 60, 9, 0)]
    [InlineData(200, 0, 0, 0, 0)]
    [InlineData(200, 0, 0, 6, 0)]
    [InlineData(200, 0.5, 60, 0, 0)]
    [InlineData(200, 1, 300, 0, 0)]
    [InlineData(200, 0, 0, 0, 600)]
    [InlineData(200, 0.5, 60, 0, 1100)]
    [InlineData(1000, 0, 0, 0, 0)]
    [InlineData(1000, 0, 0, 9, 0)]
    [InlineData(1000, 0.5, 300, 0, 0)]
    [InlineData(1000, 0.5, 60, 6, 0)]
    [InlineData(1000, 0.2, 0, 0, 1500)]
    public void The_start_never_makes_the_exchange_count_more_than_ten_in_a_second(int latencyMs, double there, int setupMs, int predecessor, int stallUntilMs)
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", new RateLimitOptions(), scheduler);
        var exchange = new SimulatedExchange(scheduler);
        exchange.Counted.AddRange(Enumerable.Repeat(T0.AddMilliseconds(-300), predecessor));
        var latency = TimeSpan.FromMilliseconds(latencyMs);
        var stallFrom = T0.AddMilliseconds(50);
        var stallUntil = T0.AddMilliseconds(stallUntilMs);
        var idle = 0; // open connections no request is using: a request on one of them pays no set-up
        const int Requests = 150;
        var answered = 0;
        for (var i = 0; i < Requests; i++)
        {
            group.Acquire().Subscribe(lease =>
            {
                var warm = idle > 0;
                if (warm) idle--;
                var way = (warm ? TimeSpan.Zero : TimeSpan.FromMilliseconds(setupMs)) + latency * there;
                var arrival = scheduler.Now + way;
                if (arrival >= stallFrom && arrival < stallUntil) way = stallUntil - scheduler.Now;
                exchange.Send(lease, way, latency * (1 - there), () =>
                {
                    idle++;
                    answered++;
                });
            });
        }

        scheduler.AdvanceBy(TimeSpan.FromSeconds(60).Ticks);

        Assert.Equal(0, exchange.Refused);
        Assert.Equal(Requests, answered);
        Assert.True(RateLimitGroupTests.MaxInAnyWindow(exchange.Counted, TimeSpan.FromSeconds(1)) <= 10);
    }

    // The first requests of a fresh process wait in the process — before their bytes leave and after
    // the answer's bytes arrived — for up to coldMs; later ones for 0-5 ms after the answer. The whole
    // latency is on the way back, so the next slice may reach the exchange the moment it is granted:
    // a booking earlier than its request's arrival would let the exchange count eleven in a second.
    [Theory]
    [InlineData(20, 100)]
    [InlineData(20, 300)]
    [InlineData(200, 150)]
    [InlineData(1000, 150)]
    public void Client_delays_on_the_first_requests_never_book_a_request_before_it_arrived(int latencyMs, int coldMs)
    {
        var scheduler = NewScheduler();
        using var group = new RateLimitGroup("candles", new RateLimitOptions(), scheduler);
        var exchange = new SimulatedExchange(scheduler);
        var random = new Random(latencyMs + coldMs);
        var leases = new List<RateLimitLease>();
        const int Requests = 120;
        for (var i = 0; i < Requests; i++)
        {
            group.Acquire().Subscribe(lease =>
            {
                var cold = leases.Count < 25 ? TimeSpan.FromMilliseconds(coldMs / 3 + random.Next(0, coldMs - coldMs / 3 + 1)) : TimeSpan.Zero;
                leases.Add(lease);
                var client = TimeSpan.FromMilliseconds(random.Next(0, 6));
                exchange.Send(lease, TimeSpan.Zero, TimeSpan.FromMilliseconds(latencyMs), beforeWire: cold, afterWire: cold + client);
            });
        }

        scheduler.AdvanceBy(TimeSpan.FromSeconds(60).Ticks);

        Assert.Equal(Requests, leases.Count);
        // A tick of slack: the virtual stopwatch rounds.
        var early = leases.Where(l => l.Booked + TimeSpan.FromTicks(1) < exchange.Arrivals[l]).Select(l => $"#{leases.IndexOf(l)} {(exchange.Arrivals[l] - l.Booked!.Value).Ticks} ticks").ToList();
        Assert.True(early.Count == 0, "booked before arrival: " + string.Join(", ", early));
        Assert.Equal(0, exchange.Refused);
        Assert.True(RateLimitGroupTests.MaxInAnyWindow(exchange.Counted, TimeSpan.FromSeconds(1)) <= 10);
    }
}
