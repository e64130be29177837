using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;
using Scraper.Exchange;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>
/// Two or three processes on one IP, in virtual time: each is a <see cref="RateLimitGroup"/> of its
/// own (they do not talk), all sending to one simulated exchange with a strict sliding 1 s window of
/// 10 that counts each request when it arrives and answers Remaining-Req and 429. Later processes
/// start while the first is at full speed, as a manual backfill beside the daemon does.
/// </summary>
public class RateLimitSharedIpTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// The exchange. The way there takes 1 ms plus up to the jitter and the way back the latency
    /// (plus up to 2 ms); with the jitter both ways, each way takes half the latency plus up to the jitter.
    /// </summary>
    private sealed class SharedExchange(TestScheduler scheduler, int latencyMs, int jitterMs, bool jitterBothWays, int seed)
    {
        private readonly Random _random = new(seed);
        public List<(DateTimeOffset At, int Process)> Counted { get; } = [];
        public int Refused { get; private set; }

        /// <summary>One process: <paramref name="requests"/> attempts queued at <paramref name="startMs"/>.</summary>
        public void Run(RateLimitGroup group, int process, int startMs, int requests)
        {
            scheduler.Schedule(TimeSpan.FromMilliseconds(startMs), () =>
            {
                for (var i = 0; i < requests; i++) group.Acquire().Subscribe(lease => Send(lease, process));
            });
        }

        private void Send(RateLimitLease lease, int process)
        {
            var there = jitterBothWays ? latencyMs / 2 + _random.Next(0, jitterMs + 1) : 1 + _random.Next(0, jitterMs + 1);
            var back = jitterBothWays ? latencyMs / 2 + _random.Next(0, jitterMs + 1) : latencyMs + _random.Next(0, 3);
            scheduler.Schedule(TimeSpan.FromMilliseconds(there), () =>
            {
                var now = scheduler.Now;
                var inWindow = Counted.Count(a => a.At > now - TimeSpan.FromSeconds(1));
                var allowed = inWindow < 10;
                if (allowed) Counted.Add((now, process));
                else Refused++;
                var remaining = allowed ? 10 - inWindow - 1 : 0;
                scheduler.Schedule(TimeSpan.FromMilliseconds(back), () =>
                    lease.Complete(scheduler.Now - lease.GrantedAt, allowed ? ExchangeOutcome.Success : ExchangeOutcome.RateLimited,
                        new RemainingRequests("candles", remaining), null));
            });
        }
    }

    public static TheoryData<int, int, int, bool> Cases => new()
    {
        // processes, latency ms, jitter ms, jitter both ways
        { 2, 20, 0, false },
        { 2, 20, 50, false },
        { 2, 20, 50, true },
        { 2, 200, 0, false },
        { 2, 200, 50, true },
        { 3, 20, 0, false },
        { 3, 20, 50, false },
        { 3, 20, 50, true },
        { 3, 200, 0, false },
        { 3, 200, 50, true },
    };

    // With the defaults (no place reserved): 2-13 429s per case, shares as uneven as 90/10. A process
    // alone fills the window, so a newcomer's requests are refused unseen until one falls into a gap.
    [Theory(Skip = "issue 11 part 2: with the default ReserveForOthers = 0 a newcomer's first requests are refused")]
    [MemberData(nameof(Cases))]
    public void Processes_on_one_IP_get_no_429_and_share_the_budget(int processes, int latencyMs, int jitterMs, bool bothWays) =>
        RunSeeds(processes, latencyMs, jitterMs, bothWays, new RateLimitOptions());

    /// <summary>
    /// One place left free even alone: the newcomer's first request is counted and all see each other.
    /// Each case runs ten seeds, the second newcomer starting 2.5–5.2 s after the first: one free
    /// place cannot take two first requests that arrive before anyone can have seen the first.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void With_one_place_reserved_processes_get_no_429_and_share_the_budget(int processes, int latencyMs, int jitterMs, bool bothWays) =>
        RunSeeds(processes, latencyMs, jitterMs, bothWays, new RateLimitOptions { ReserveForOthers = 1 });

    private void RunSeeds(int processes, int latencyMs, int jitterMs, bool bothWays, RateLimitOptions options)
    {
        var failures = new List<string>();
        for (var seed = 1; seed <= 10; seed++)
        {
            var (ok, line) = Run(processes, latencyMs, jitterMs, bothWays, options, seed, 3000 + 370 * seed % 2500, 2500 + 300 * seed % 2700);
            output.WriteLine(line);
            if (!ok) failures.Add(line);
        }
        Assert.Empty(failures);
    }

    private static (bool Ok, string Line) Run(int processes, int latencyMs, int jitterMs, bool bothWays, RateLimitOptions options, int seed, int secondMs, int gapMs)
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        var exchange = new SharedExchange(scheduler, latencyMs, jitterMs, bothWays, seed);
        var groups = Enumerable.Range(0, processes).Select(_ => new RateLimitGroup("candles", options, scheduler)).ToList();
        const int Requests = 300;
        // The first runs alone for 3 s and more; the others join one after another, all with plenty to do.
        var starts = Enumerable.Range(0, processes).Select(p => p == 0 ? 0 : secondMs + gapMs * (p - 1)).ToList();
        for (var p = 0; p < processes; p++) exchange.Run(groups[p], p, starts[p], Requests);

        scheduler.AdvanceBy(TimeSpan.FromSeconds(300).Ticks);
        foreach (var g in groups) g.Dispose();

        // While all run: from the last start to the first process to finish.
        var from = T0.AddMilliseconds(starts[^1]);
        var until = Enumerable.Range(0, processes).Min(p => exchange.Counted.Where(c => c.Process == p).Max(c => c.At));
        var overlap = exchange.Counted.Where(c => c.At >= from && c.At <= until).ToList();
        var shares = Enumerable.Range(0, processes).Select(p => (double)overlap.Count(c => c.Process == p) / overlap.Count).ToList();
        var rate = overlap.Count / (until - from).TotalSeconds;
        var maxInWindow = RateLimitGroupTests.MaxInAnyWindow([.. exchange.Counted.Select(c => c.At)], TimeSpan.FromSeconds(1));
        // Two share within 35–65% each; three within 20–46% (a third each, give or take the same);
        // together they keep most of the budget.
        var (low, high) = processes == 2 ? (0.35, 0.65) : (0.20, 0.46);
        var ok = exchange.Refused == 0 && maxInWindow <= 10 && shares.All(s => s >= low && s <= high) && rate > 6.0;
        return (ok, $"seed {seed}, starts {string.Join("/", starts)} ms: 429: {exchange.Refused}; overlap {(until - from).TotalSeconds:0.0} s, {rate:0.00} requests/s; shares {string.Join(", ", shares.Select(s => $"{s:P0}"))}{(ok ? "" : "  <- FAILS")}");
    }
}
