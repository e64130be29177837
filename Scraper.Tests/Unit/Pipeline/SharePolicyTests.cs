using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>The share rules as pure functions: what one answer does to the places a process may hold.</summary>
public class SharePolicyTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly RateLimitOptions Reserved = new() { ReserveForOthers = 1 };

    /// <summary>A process holding <paramref name="limit"/> that last saw another client at T0.</summary>
    private static Share Sharing(int limit) => new(limit, T0, T0, 0);

    [Fact]
    public void Without_a_reserve_two_windows_without_others_give_back_the_whole_window()
    {
        var share = SharePolicy.Observe(Sharing(4), new RateLimitOptions(), T0.AddSeconds(2.5), T0.AddSeconds(2.4), used: 4, oursAtMost: 4, heldAtGrant: 4);
        Assert.Equal(10, share.Limit);
    }

    [Fact]
    public void With_a_reserve_others_count_as_there_for_the_quiet_period()
    {
        var share = SharePolicy.Observe(Sharing(2), Reserved, T0.AddSeconds(2.5), T0.AddSeconds(2.4), used: 2, oursAtMost: 2, heldAtGrant: 2);
        Assert.Equal(3, share.Limit);
        var quiet = SharePolicy.Observe(share, Reserved, T0.AddSeconds(10.5), T0.AddSeconds(10.4), used: 3, oursAtMost: 3, heldAtGrant: 3);
        Assert.Equal(9, quiet.Limit);
    }

    [Fact]
    public void With_a_reserve_a_holder_of_a_third_of_a_full_count_keeps_its_places()
    {
        var now = T0.AddSeconds(0.5);
        Assert.Equal(3, SharePolicy.Observe(Sharing(3), Reserved, now, now, used: 9, oursAtMost: 3, heldAtGrant: 3).Limit);
        Assert.Equal(3, SharePolicy.Observe(Sharing(4), Reserved, now, now, used: 9, oursAtMost: 4, heldAtGrant: 4).Limit);
        Assert.Equal(2, SharePolicy.Observe(Sharing(3), new RateLimitOptions(), now, now, used: 9, oursAtMost: 3, heldAtGrant: 3).Limit);
    }

    [Fact]
    public void With_a_reserve_only_a_holder_that_filled_its_places_grows_and_a_larger_one_waits_longer()
    {
        var notFilled = SharePolicy.Observe(Sharing(2), Reserved, T0.AddSeconds(2.5), T0.AddSeconds(2.4), used: 5, oursAtMost: 2, heldAtGrant: 1);
        Assert.Equal(2, notFilled.Limit);
        var filled = SharePolicy.Observe(Sharing(2), Reserved, T0.AddSeconds(2.5), T0.AddSeconds(2.4), used: 5, oursAtMost: 2, heldAtGrant: 2);
        Assert.Equal(3, filled.Limit);
        var larger = SharePolicy.Observe(Sharing(4), Reserved, T0.AddSeconds(3.5), T0.AddSeconds(3.4), used: 6, oursAtMost: 4, heldAtGrant: 4);
        Assert.Equal(4, larger.Limit);
        Assert.Equal(5, SharePolicy.Observe(larger, Reserved, T0.AddSeconds(4.5), T0.AddSeconds(4.4), used: 6, oursAtMost: 4, heldAtGrant: 4).Limit);
    }
}
