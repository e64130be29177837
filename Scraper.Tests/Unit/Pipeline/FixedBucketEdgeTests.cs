using Microsoft.Reactive.Testing;
using Scraper.Exchange;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>
/// What <see cref="FixedBucketEdge"/> learns from answers: an edge only from a count no sliding window
/// can give, and it forgets the edge on a 429 or a count the edge cannot explain.
/// </summary>
public class FixedBucketEdgeTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly RateLimitOptions Options = new() { SlowStart = false };

    private sealed class Fixture : IDisposable
    {
        private readonly TestScheduler _scheduler = new();
        private readonly RateLimitGroup _group;

        public Fixture()
        {
            _scheduler.AdvanceTo(T0.UtcTicks);
            _group = new RateLimitGroup("candles", Options with { RequestsPerWindow = 1000 }, _scheduler);
        }

        public FixedBucketEdge Edge { get; } = new(Options);

        /// <summary>Leases granted <paramref name="ms"/> after T0 (the group itself is only their source).</summary>
        public List<RateLimitLease> Grant(int ms, int count)
        {
            _scheduler.AdvanceTo(T0.AddMilliseconds(ms).UtcTicks);
            var leases = new List<RateLimitLease>();
            for (var i = 0; i < count; i++) _group.Acquire().Subscribe(leases.Add);
            _scheduler.AdvanceBy(1);
            foreach (var lease in leases) Edge.Granted(lease, lease.GrantedAt);
            return leases;
        }

        public void Answer(RateLimitLease lease, int ms, int used, ExchangeOutcome outcome = ExchangeOutcome.Success) =>
            Edge.Answered(lease, T0.AddMilliseconds(ms), outcome, used);

        public void Dispose() => _group.Dispose();
    }

    /// <summary>Three answered at 20 ms, then one granted at 500 ms that the exchange counts as <paramref name="used"/>.</summary>
    private static Fixture ThreeThenOne(int used)
    {
        var f = new Fixture();
        var first = f.Grant(0, 3);
        for (var i = 0; i < 3; i++) f.Answer(first[i], 20, i + 1);
        f.Answer(f.Grant(500, 1)[0], 520, used);
        return f;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void A_count_that_leaves_out_the_request_itself_teaches_nothing_and_breaks_nothing(int used)
    {
        // Remaining-Req above the group's limit (another group's header, a changed limit) gives such counts.
        using var f = ThreeThenOne(used);

        Assert.False(f.Edge.Known);
    }

    [Fact]
    public void A_count_below_our_requests_that_certainly_came_before_shows_an_edge_between_them()
    {
        using var f = ThreeThenOne(used: 1);

        Assert.True(f.Edge.Known);
        Assert.Equal(520, Math.Round(f.Edge.Uncertainty.TotalMilliseconds)); // after the first three were granted, by the fourth's answer
    }

    [Fact]
    public void A_count_a_sliding_window_explains_teaches_nothing()
    {
        using var f = ThreeThenOne(used: 4);

        Assert.False(f.Edge.Known);
    }

    [Fact]
    public void A_429_forgets_the_edge()
    {
        using var f = ThreeThenOne(used: 1);

        f.Answer(f.Grant(1600, 1)[0], 1620, 0, ExchangeOutcome.RateLimited);

        Assert.False(f.Edge.Known);
    }

    [Fact]
    public void A_count_above_what_we_can_have_sent_into_the_bucket_forgets_the_edge()
    {
        using var f = ThreeThenOne(used: 1);

        f.Answer(f.Grant(1600, 1)[0], 1620, 5); // alone it would be 1 or 2: someone else spends from the bucket

        Assert.False(f.Edge.Known);
    }

    [Fact]
    public void A_bucket_full_of_ours_has_no_room_until_the_next_edge_s_latest_instant()
    {
        using var f = ThreeThenOne(used: 1);
        var slice = f.Grant(600, 9);
        for (var i = 0; i < 9; i++) f.Answer(slice[i], 620, i + 2);

        Assert.False(f.Edge.HasRoom(T0.AddMilliseconds(700), 10));
        Assert.Equal(T0.AddMilliseconds(1520), f.Edge.Next(T0.AddMilliseconds(700), 10));
        Assert.True(f.Edge.HasRoom(T0.AddMilliseconds(1520), 10));
    }
}
