using System.Reactive.Concurrency;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Reactive.Testing;
using Scraper.Exchange;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>
/// Long scripted runs of one group in virtual time against <see cref="SimulatedExchange"/> (60-day
/// backfills: sliding and fixed buckets, jitter, 429s, another client on the IP, requests given up
/// unanswered). Every decision the limiter takes shows in when it grants, how many places it counted
/// as ours then, where it booked each answer and what it knew of fixed buckets: a change of how the limiter computes must not change
/// any of them. The recorded sequences were computed by the limiter as it was before its places got a
/// class of their own (commit a941fe1; the edge's part by 7d5210b, the same limiter moved). Three were
/// recorded again when, without a reserve, an answer's count began to be compared with the window
/// ending at its earliest arrival (a slow answer had looked like another client): the same grants and
/// refusals, each run ending 16-143 ms earlier.
/// </summary>
public class RateLimitReplayTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private const int Requests = 432;

    /// <summary>The scenario's name, and the grants and the digest of the sequence the old limiter produced.</summary>
    public static TheoryData<string, int, string> Recorded => new()
    {
        { "sliding 20 ms ± 5", 432, "5F09CA56F74CCE40" },
        { "sliding 200 ms ± 50", 432, "8536C0D1B749DA32" },
        { "sliding 1 s, 20 dropped", 432, "8B97C6104AE4C270" },
        { "fixed bucket 137 ms, 20 ms ± 3, sliding from 20 s", 435, "94686A4B9B32D00F" },
        { "fixed bucket 620 ms, 200 ms ± 3", 432, "886FA4A8ACD74996" },
        { "another client from 10 s to 30 s, reserve 1", 437, "6C03DC69F18FA5EB" },
        { "another client from 10 s to 30 s, no reserve", 441, "099EE1F84F128B81" },
    };

    private sealed record Run(List<RateLimitLease> Grants, List<TimeSpan> Edges, int Refused, long AllocatedBytes, TimeSpan Cpu);

    private static Run Replay(string scenario)
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        var reserve = scenario.Contains("reserve 1", StringComparison.Ordinal);
        using var group = new RateLimitGroup("candles", new RateLimitOptions { ReserveForOthers = reserve ? 1 : 0 }, scheduler);
        var exchange = new SimulatedExchange(scheduler);
        var (latencyMs, jitterMs) = scenario switch
        {
            _ when scenario.Contains("200 ms ± 50", StringComparison.Ordinal) => (200, 50),
            _ when scenario.Contains("1 s", StringComparison.Ordinal) => (1000, 0),
            _ when scenario.Contains("200 ms", StringComparison.Ordinal) => (200, 3),
            _ when scenario.Contains("± 3", StringComparison.Ordinal) => (20, 3),
            _ => (20, 5),
        };
        if (scenario.StartsWith("fixed bucket 137", StringComparison.Ordinal))
        {
            exchange.BucketEdge = T0.AddMilliseconds(137);
            scheduler.Schedule(TimeSpan.FromSeconds(20), () => exchange.BucketEdge = null);
        }
        if (scenario.StartsWith("fixed bucket 620", StringComparison.Ordinal)) exchange.BucketEdge = T0.AddMilliseconds(620);
        if (scenario.StartsWith("another client", StringComparison.Ordinal)) Others(scheduler, exchange);

        var random = new Random(scenario.Length * 31 + latencyMs);
        var grants = new List<RateLimitLease>();
        var edges = new List<TimeSpan>(); // the learnt bucket edge's uncertainty at each grant (a window while none is known)
        var retried = 0; // one retry per 429, 100 ms after the answer that follows it
        TimeSpan Way() => TimeSpan.FromMilliseconds(latencyMs / 2.0 + random.Next(0, jitterMs + 1));
        void Attempt()
        {
            group.Acquire().Subscribe(lease =>
            {
                grants.Add(lease);
                edges.Add(group.BucketEdge.Uncertainty);
                // Every twentieth given up unanswered: its place stays held for the in-flight hold.
                if (scenario.Contains("dropped", StringComparison.Ordinal) && grants.Count % 20 == 7)
                {
                    lease.Dispose();
                    return;
                }
                exchange.Send(lease, Way(), Way(), () =>
                {
                    if (exchange.Refused <= retried) return;
                    retried++;
                    scheduler.Schedule(TimeSpan.FromMilliseconds(100), Attempt);
                });
            });
        }
        for (var i = 0; i < Requests; i++) Attempt();

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        scheduler.AdvanceBy(TimeSpan.FromSeconds(Requests / 2).Ticks);
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        return new Run(grants, edges, exchange.Refused, GC.GetAllocatedBytesForCurrentThread() - allocated, elapsed);
    }

    /// <summary>Another client on the IP: up to four requests every 300 ms from 10 s to 30 s, each counted if the window has room.</summary>
    private static void Others(TestScheduler scheduler, SimulatedExchange exchange)
    {
        for (var at = TimeSpan.FromSeconds(10); at < TimeSpan.FromSeconds(30); at += TimeSpan.FromMilliseconds(300))
        {
            scheduler.Schedule(at, () =>
            {
                for (var i = 0; i < 4; i++)
                {
                    var now = scheduler.Now;
                    if (exchange.Counted.Count(a => a > now - TimeSpan.FromSeconds(1)) < 10) exchange.Counted.Add(now);
                }
            });
        }
    }

    /// <summary>When each permit was granted, the places ours held then, where its answer was booked, and how well the bucket edge was known then.</summary>
    private static string Digest(Run run)
    {
        var text = new StringBuilder();
        foreach (var (lease, edge) in run.Grants.Zip(run.Edges))
            text.Append((lease.GrantedAt - T0).Ticks).Append(':').Append(lease.HeldAtGrant).Append(':').Append(lease.Booked is { } b ? (b - T0).Ticks : -1).Append(':').Append(edge.Ticks).Append(';');
        return Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(text.ToString())))[..16];
    }

    [Theory]
    [MemberData(nameof(Recorded))]
    public void A_long_replay_grants_exactly_as_recorded(string scenario, int grants, string digest)
    {
        var run = Replay(scenario);

        output.WriteLine($"{scenario}: {run.Grants.Count} grants, {run.Refused} refused, last at {(run.Grants[^1].GrantedAt - T0).TotalSeconds:0.000} s, digest {Digest(run)}");
        foreach (var lease in run.Grants.Take(24)) output.WriteLine($"  {(lease.GrantedAt - T0).TotalMilliseconds:0.000} ms, held {lease.HeldAtGrant}, booked {(lease.Booked - T0)?.TotalMilliseconds:0.000}");
        Assert.Equal(grants, run.Grants.Count);
        Assert.Equal(digest, Digest(run));
    }

    /// <summary>
    /// What a grant may allocate, with its answer and the simulated exchange's own share: the lease, its
    /// place and the scheduler's work, not a list of the window's places for every permit and answer.
    /// </summary>
    private const int MaxBytesPerGrant = 2000;

    [Fact]
    public void A_long_replay_allocates_little_per_grant()
    {
        // The first rounds pay for what is created once and run before the JIT has optimised the code.
        var runs = new List<Run>();
        for (var round = 0; round < 3; round++) runs = [.. Recorded.Select(row => Replay((string)row[0]))];

        var grants = runs.Sum(r => r.Grants.Count);
        var perGrant = runs.Sum(r => r.AllocatedBytes) / (double)grants;
        // The time is only printed: a busy machine's is no measure.
        output.WriteLine($"{perGrant:0} bytes allocated per grant (the simulated exchange's own included), {grants} grants, {runs.Sum(r => r.Cpu.TotalMicroseconds) / grants:0.0} µs per grant");
        foreach (var (run, row) in runs.Zip(Recorded)) output.WriteLine($"  {row[0]}: {run.AllocatedBytes / (double)run.Grants.Count:0} bytes per grant");
        Assert.True(perGrant < MaxBytesPerGrant, $"{perGrant:0} bytes per grant, at most {MaxBytesPerGrant} expected");
    }
}
