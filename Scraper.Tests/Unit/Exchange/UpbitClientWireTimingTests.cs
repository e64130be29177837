using System.Globalization;
using Microsoft.AspNetCore.Http;
using Scraper.Domain;
using Scraper.Exchange;
using static Scraper.Tests.Exchange.ClientTestKit;

namespace Scraper.Tests.Exchange;

/// <summary>
/// Each request's round trip as its connection saw it, against a real HTTP server on 127.0.0.1:
/// it belongs to that request even when several are in flight, and holds none of the client's time
/// before the bytes leave or after they arrive.
/// </summary>
public sealed class UpbitClientWireTimingTests
{
    // The server holds each answer for twice the candle count in ms: requests tell their own delay.
    private static async Task Delayed(HttpContext context)
    {
        var count = int.Parse(context.Request.Query["count"].ToString(), CultureInfo.InvariantCulture);
        await Task.Delay(TimeSpan.FromMilliseconds(2 * count));
        await LoopbackServer.Json(200, Array(MinuteCandle()))(context);
    }

    private static CandleQuery Query(int count) => MinuteQuery with { Count = count };

    [Fact]
    public async Task Concurrent_requests_each_get_their_own_round_trip_at_the_wire()
    {
        await using var server = await LoopbackServer.StartAsync(Delayed);
        using var client = NewClient(server);
        await client.GetCandlesAsync(Query(1), CancellationToken.None); // the server's own first-request costs

        // A round whose three round trips all fit their delays is clean. A mixed-up round trip spoils
        // every round alike; a stalled process (a starved thread pool injects a thread per 500 ms, and
        // a CI run saw all three reads of one round land 557 ms late) spoils the round it hit.
        var clean = 0;
        var late = new List<string>();
        for (var round = 0; round < MaxRounds && clean < CleanRoundsNeeded; round++) // later rounds reuse the connections
        {
            int[] counts = [25, 75, 150];
            var responses = await Task.WhenAll(counts.Select(c => client.GetCandlesAsync(Query(c), CancellationToken.None)));

            var lateInRound = new List<string>();
            for (var i = 0; i < counts.Length; i++)
            {
                var response = responses[i];
                Assert.True(response.IsSuccess, response.Detail);
                Assert.NotNull(response.Wire);
                var delay = TimeSpan.FromMilliseconds(2 * counts[i]);
                // Never an earlier answer's: those are 100 ms and more apart. The server's timer may fire
                // early: Task.Delay runs on the runtime's tick count, CLOCK_MONOTONIC_COARSE on Linux (4 ms
                // steps here), and a clean-clone CI run saw 293 ms for a 300 ms answer.
                Assert.True(response.Wire.RoundTrip >= delay - TimeSpan.FromMilliseconds(15), $"{response.Wire.RoundTrip.TotalMilliseconds:0} ms for a {delay.TotalMilliseconds} ms answer");
                if (response.Wire.RoundTrip > delay + TimeSpan.FromMilliseconds(95)) lateInRound.Add($"{response.Wire.RoundTrip.TotalMilliseconds:0} ms for {delay.TotalMilliseconds} ms");
                Assert.InRange(response.Wire.Writing, TimeSpan.Zero, response.Wire.RoundTrip - delay + TimeSpan.FromMilliseconds(15));
                Assert.True(response.Wire.RoundTrip + response.Wire.SinceAnswer <= response.Duration,
                    $"wire {response.Wire.RoundTrip.TotalMilliseconds} ms + {response.Wire.SinceAnswer.TotalMilliseconds} ms > {response.Duration.TotalMilliseconds} ms");
            }
            if (lateInRound.Count == 0) clean++;
            else late.Add($"round {round + 1}: " + string.Join(", ", lateInRound));
        }
        // Nor a later one's: that would hold a 50 ms answer's round trip 100 ms and more past it in every round.
        Assert.True(clean >= CleanRoundsNeeded, $"{clean} of {CleanRoundsNeeded} clean rounds; round trips longer than their answer's delay: " + string.Join("; ", late));
    }

    private const int CleanRoundsNeeded = 2;
    private const int MaxRounds = 6;

    [Fact]
    public async Task Time_the_client_spends_before_the_bytes_leave_is_not_in_the_wire_round_trip()
    {
        await using var server = await LoopbackServer.StartAsync(Delayed);
        using var client = NewClient(server);

        // The first request of a client pays for the connection (and, here, its JIT); the wire does not.
        var response = await client.GetCandlesAsync(Query(50), CancellationToken.None);

        Assert.True(response.IsSuccess, response.Detail);
        Assert.NotNull(response.Wire);
        Assert.InRange(response.Wire.RoundTrip, TimeSpan.FromMilliseconds(95), response.Duration);
        Assert.True(response.Wire.SinceAnswer >= TimeSpan.Zero);
    }

    [Fact]
    public async Task A_request_that_never_reached_a_connection_has_no_wire_timing()
    {
        using var client = NewClient(new Uri("http://127.0.0.1:1/"));

        var response = await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);

        Assert.Equal(ExchangeOutcome.Transient, response.Outcome);
        Assert.Null(response.Wire);
    }
}
