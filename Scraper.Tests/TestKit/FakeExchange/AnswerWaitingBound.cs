using System.Globalization;

namespace Scraper.Tests.FakeExchange;

/// <summary>
/// The best rate a client can reach against the exchange of a recorded run if it reuses a place of
/// the window only once it has the answer of the request that held it — before the answer it cannot
/// know when that request arrived — and that request has left the window. The ideal client has no
/// margin, no delay of its own, and knows every arrival exactly; the exchange is the one recorded:
/// the k-th request keeps its own way there (received to counted: the arrival jitter) and its own
/// hold (counted to answered). With a probe, the first request goes alone and the others wait for
/// its answer, as a client must that cannot know who else is in the window when it starts.
/// </summary>
public static class AnswerWaitingBound
{
    /// <summary>The ideal client's requests per window as a percentage of the limit (arrivals as the benchmark measures them: first to last received).</summary>
    public static double Percent(IReadOnlyList<RecordedRequest> requests, TimeSpan window, int perWindow, bool probe)
    {
        if (requests.Count < 2) return double.NaN;
        var ordered = requests.OrderBy(r => r.At).ToList();
        var free = new PriorityQueue<TimeSpan, TimeSpan>(); // when each place may be taken again
        var probeAnswered = TimeSpan.Zero;
        var lastSent = TimeSpan.Zero;
        for (var i = 0; i < ordered.Count; i++)
        {
            var sent = i == 0 ? TimeSpan.Zero
                : i < perWindow ? (probe ? probeAnswered : TimeSpan.Zero)
                : free.Dequeue();
            var counted = sent + (ordered[i].CountedAt - ordered[i].At);
            var answered = counted + (ordered[i].AnsweredAt - ordered[i].CountedAt);
            if (i == 0) probeAnswered = answered;
            var again = counted + window > answered ? counted + window : answered;
            free.Enqueue(again, again);
            lastSent = sent;
        }
        return 100.0 * (ordered.Count - 1) / perWindow * window.TotalSeconds / lastSent.TotalSeconds;
    }

    /// <summary>Both bounds of a run, for the benchmark's line.</summary>
    public static string Describe(IReadOnlyList<RecordedRequest> requests, TimeSpan window, int perWindow) => string.Create(CultureInfo.InvariantCulture,
        $"a client that waits for each answer reaches {Percent(requests, window, perWindow, probe: true):0.0}% after a probe, {Percent(requests, window, perWindow, probe: false):0.0}% without (this exchange's own times, no margin)");
}
