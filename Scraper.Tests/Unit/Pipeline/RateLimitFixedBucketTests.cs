using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>
/// A 60-day backfill (432 requests) with the daemon's defaults against an exchange in virtual time that
/// counts in fixed one-second buckets, whose edges fall anywhere relative to the first request: the
/// group learns the buckets from the answers alone and uses them whole. The same run against a sliding
/// window must never be taken for a bucket.
/// </summary>
public class RateLimitFixedBucketTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private const int Requests = 432;

    /// <summary>Runs the backfill; the exchange's counted arrivals, its refusals and the rate reached (1 = ten a second).</summary>
    private (SimulatedExchange Exchange, double Rate) Run(int latencyMs, int jitterMs, DateTimeOffset? bucketEdge, int? slidingFromSeconds = null, LogLines? log = null)
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        using var group = new RateLimitGroup("candles", new RateLimitOptions(), scheduler);
        if (log is not null) group.BucketEdges.Subscribe(e => RateLimitLog.BucketEdge(log.For("Scraper.RateLimiter"), e));
        var exchange = new SimulatedExchange(scheduler) { BucketEdge = bucketEdge };
        var random = new Random(latencyMs * 31 + jitterMs);
        TimeSpan Way() => TimeSpan.FromMilliseconds(latencyMs / 2.0 + random.Next(0, jitterMs + 1));
        for (var i = 0; i < Requests; i++) group.Acquire().Subscribe(lease => exchange.Send(lease, Way(), Way()));
        if (slidingFromSeconds is { } from) scheduler.Schedule(TimeSpan.FromSeconds(from), () => exchange.BucketEdge = null);
        scheduler.AdvanceBy(TimeSpan.FromSeconds(Requests / 5).Ticks);
        var counted = exchange.Counted;
        var rate = (counted.Count - 1) / (counted[^1] - counted[0]).TotalSeconds / 10;
        var kind = bucketEdge is { } edge ? $"fixed bucket, edge {(edge - T0).TotalMilliseconds:0} ms after the first request" : "sliding window";
        output.WriteLine($"{kind}, {latencyMs} ms ± {jitterMs}: {counted.Count} counted, {exchange.Refused} refused, {rate:P2} of the allowed rate");
        return (exchange, rate);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(137)]
    [InlineData(500)]
    [InlineData(990)]
    public void A_fixed_bucket_is_learnt_and_used_whole_at_20_ms(int edgeMs)
    {
        var (exchange, rate) = Run(20, 3, T0.AddMilliseconds(edgeMs));

        Assert.Equal(0, exchange.Refused);
        Assert.Equal(Requests, exchange.Counted.Count);
        Assert.True(rate >= 0.995, $"{rate:P2} of the allowed rate");
    }

    // the rate the limiter reached before it learnt buckets (98.1%, 94.6%), less their rounding
    [Theory]
    [InlineData(200, 137, 0.9805)]
    [InlineData(1000, 500, 0.9455)]
    public void A_fixed_bucket_at_long_latency_draws_no_429_and_costs_nothing(int latencyMs, int edgeMs, double before)
    {
        var (exchange, rate) = Run(latencyMs, 3, T0.AddMilliseconds(edgeMs));

        Assert.Equal(0, exchange.Refused);
        Assert.Equal(Requests, exchange.Counted.Count);
        Assert.True(rate >= before, $"{rate:P1} of the allowed rate, {before:P1} before");
    }

    // the rate the limiter reached before it learnt buckets (98.9%, 99.1%, 98.1%), less their rounding
    [Theory]
    [InlineData(20, 3, 0.9885)]
    [InlineData(20, 0, 0.9905)]
    [InlineData(200, 3, 0.9805)]
    public void A_sliding_window_is_never_taken_for_a_fixed_bucket(int latencyMs, int jitterMs, double before)
    {
        var (exchange, rate) = Run(latencyMs, jitterMs, bucketEdge: null);

        Assert.Equal(0, exchange.Refused);
        Assert.True(RateLimitGroupTests.MaxInAnyWindow(exchange.Counted, TimeSpan.FromSeconds(1)) <= 10);
        Assert.True(rate >= before, $"{rate:P1} of the allowed rate, {before:P1} before");
    }

    [Fact]
    public void An_exchange_that_stops_counting_in_buckets_costs_one_slice_of_429s_at_most_and_the_sliding_pace_goes_on()
    {
        var (exchange, _) = Run(20, 3, T0.AddMilliseconds(137), slidingFromSeconds: 20);

        // The requests refused are not retried here: every one was either counted or refused.
        Assert.InRange(exchange.Refused, 0, 10);
        Assert.Equal(Requests, exchange.Counted.Count + exchange.Refused);
        var after = exchange.Counted.Where(a => a > T0.AddSeconds(25)).ToList();
        Assert.True(RateLimitGroupTests.MaxInAnyWindow(after, TimeSpan.FromSeconds(1)) <= 10);
    }

    [Fact]
    public void A_learnt_edge_and_its_loss_are_logged_once_each_and_a_sliding_window_logs_none()
    {
        var fixedThenSliding = new LogLines();
        var sliding = new LogLines();

        Run(20, 3, T0.AddMilliseconds(137), slidingFromSeconds: 20, log: fixedThenSliding);
        Run(20, 3, bucketEdge: null, log: sliding);

        var lines = fixedThenSliding.All.Select(l => (l.Level, l.Message)).ToList();
        foreach (var line in lines) output.WriteLine(line.Message);
        Assert.Equal(2, lines.Count);
        Assert.All(lines, l => Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Information, l.Level));
        Assert.Contains("fixed buckets", lines[0].Message, StringComparison.Ordinal);
        Assert.Contains("sliding", lines[1].Message, StringComparison.Ordinal);
        Assert.Empty(sliding.All);
    }
}
