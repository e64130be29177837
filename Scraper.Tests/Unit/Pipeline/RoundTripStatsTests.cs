using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

public class RoundTripStatsTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_fastest_is_trusted_only_once_enough_samples_come_from_at_least_two_sends()
    {
        var stats = new RoundTripStats();
        // One slice of requests that all opened new connections: none shows the warm round trip.
        for (var i = 0; i < 12; i++) stats.Add(TimeSpan.FromMilliseconds(80 + i), T0);
        Assert.Equal(TimeSpan.Zero, stats.Fastest(10));

        stats.Add(TimeSpan.FromMilliseconds(20), T0.AddSeconds(1));

        Assert.Equal(TimeSpan.FromMilliseconds(20), stats.Fastest(10));
        Assert.Equal(TimeSpan.Zero, stats.Fastest(14));
    }
}
