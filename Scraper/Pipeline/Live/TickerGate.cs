using System.Reactive.Concurrency;
using System.Reactive.Linq;
using Scraper.Exchange.Streaming;

namespace Scraper.Pipeline.Live;

/// <summary>
/// Which markets the REST ticker asks for on each poll tick. While the follower does not stream
/// (poll mode, before the first connection, after falling back to polling) every market, as before
/// the stream existed. While it streams, only the markets whose stream ticker has been silent for
/// <c>staleAfter</c>: the stream sends a ticker only when a trade happened, so silence is either a
/// quiet market or a lost one (a code the exchange dropped, a connection that is being re-established),
/// and one REST answer settles which. Asking counts as hearing from the market, so a quiet market
/// costs one shared request per <c>staleAfter</c>, not one per tick.
/// </summary>
internal static class TickerGate
{
    /// <summary>
    /// How long a market's stream ticker may be silent before REST asks for it: five poll periods,
    /// and at least 5 s, so that the gaps between a busy market's trades never count as a loss.
    /// </summary>
    public static TimeSpan StaleAfter(TimeSpan period) => TimeSpan.FromTicks(Math.Max(period.Ticks * 5, TimeSpan.FromSeconds(5).Ticks));

    /// <summary>On each of <paramref name="ticks"/>, the markets to ask REST for; nothing when there are none.</summary>
    public static IObservable<IReadOnlyList<string>> Due(IReadOnlyList<string> markets, IObservable<long> ticks, IObservable<LiveEvent> live,
        TimeSpan staleAfter, IScheduler scheduler) =>
        Observable.Defer(() =>
        {
            // Durations on the scheduler's stopwatch: monotonic, and virtual in tests.
            var clock = scheduler.StartStopwatch();
            var state = new Freshness(markets, staleAfter);
            // Merge serialises the two sources, so the state sees one input at a time.
            return live.Select(e => (Tick: false, Event: (LiveEvent?)e)).Merge(ticks.Select(_ => (Tick: true, Event: (LiveEvent?)null)))
                .Select(input => input.Tick ? state.Due(clock.Elapsed) : state.Observe(input.Event!, clock.Elapsed))
                .Where(due => due.Count > 0);
        });

    private sealed class Freshness(IReadOnlyList<string> markets, TimeSpan staleAfter)
    {
        private readonly Dictionary<string, TimeSpan> _heard = new(StringComparer.OrdinalIgnoreCase);
        private bool _streaming;

        public IReadOnlyList<string> Observe(LiveEvent e, TimeSpan now)
        {
            switch (e)
            {
                case LiveModeChanged { Streaming: var streaming }:
                    // A new connection's snapshot brings every market's ticker: give it the stale period to arrive.
                    if (streaming && !_streaming) foreach (var m in markets) _heard[m] = now;
                    _streaming = streaming;
                    break;
                case LiveStreamEvent { Event: StreamTicker t }:
                    _heard[t.Market] = now;
                    break;
            }
            return [];
        }

        public IReadOnlyList<string> Due(TimeSpan now)
        {
            if (!_streaming) return markets;
            var due = markets.Where(m => !_heard.TryGetValue(m, out var heard) || now - heard >= staleAfter).ToList();
            foreach (var m in due) _heard[m] = now;
            return due;
        }
    }
}
