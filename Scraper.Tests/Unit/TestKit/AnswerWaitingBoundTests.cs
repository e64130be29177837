using Scraper.Tests.FakeExchange;

namespace Scraper.Tests.TestKit;

/// <summary>
/// The benchmark's bound for a client that waits for each answer: worked by hand for an exchange
/// that holds every answer the same time. The rate is the benchmark's own: requests after the first
/// over the time from the first sent to the last.
/// </summary>
public class AnswerWaitingBoundTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    // Each request i is received at i ms (the client's own pace, which the bound replaces), counted
    // `thereMs` later and answered `holdMs` after it was counted.
    private static List<RecordedRequest> Run(int count, int holdMs, Func<int, int>? thereMs = null) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var at = T0.AddMilliseconds(i);
            var counted = at.AddMilliseconds(thereMs?.Invoke(i) ?? 0);
            return new RecordedRequest(at, "/v1/candles/minutes/1", "", false, false) { Status = 200, CountedAt = counted, AnsweredAt = counted.AddMilliseconds(holdMs) };
        })];

    [Fact]
    public void A_place_comes_back_when_its_request_has_left_the_window()
    {
        // Slices of ten at 0, 1 s and 2 s: twenty after the first in two seconds.
        Assert.Equal(100.0, AnswerWaitingBound.Percent(Run(21, holdMs: 20), Window, 10, probe: false), 6);
    }

    [Fact]
    public void A_place_comes_back_no_sooner_than_its_answer()
    {
        // Answers take 1.5 s: slices at 0, 1.5 s and 3 s.
        Assert.Equal(100.0 * 20 / 10 / 3, AnswerWaitingBound.Percent(Run(21, holdMs: 1500), Window, 10, probe: false), 6);
    }

    [Fact]
    public void After_a_probe_the_first_slice_waits_for_its_answer()
    {
        // The probe at 0 answered at 400 ms: nine then, the probe's place at 1 s, the nine's places
        // at 1.4 s (the answer came sooner); the thirtieth request is the last of the nine at 2.4 s.
        Assert.Equal(100.0 * 29 / 10 / 2.4, AnswerWaitingBound.Percent(Run(30, holdMs: 400), Window, 10, probe: true), 6);
        // Without it: slices of ten at 0, 1 s and 2 s.
        Assert.Equal(100.0 * 29 / 10 / 2.0, AnswerWaitingBound.Percent(Run(30, holdMs: 400), Window, 10, probe: false), 6);
    }

    [Fact]
    public void A_request_keeps_its_own_way_to_the_exchange()
    {
        // The eleventh request (the first to reuse a place) takes 300 ms to arrive; the client sends it
        // when the first place comes back, and its own place comes back a window after it arrived.
        var run = Run(31, holdMs: 20, thereMs: i => i == 10 ? 300 : 0);
        // Sent: 0-9 at 0, 10-19 at 1 s (10 arrives at 1.3 s), 20-28 at 2 s, 29 at 2.3 s; 30 goes
        // when the earliest place is free again: one of 20-28's, at 3 s.
        Assert.Equal(100.0 * 30 / 10 / 3.0, AnswerWaitingBound.Percent(run, Window, 10, probe: false), 6);
        Assert.Equal(100.0 * 29 / 10 / 2.3, AnswerWaitingBound.Percent(run[..30], Window, 10, probe: false), 6);
    }
}
