using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>The pace after 429s, as pure functions: lowered once per pause, recovered step by step.</summary>
public class PacePolicyTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly RateLimitOptions Options = new() { RequestsPerWindow = 10 };

    [Fact]
    public void A_429_halves_the_permits_and_starts_the_penalty_once_per_pause()
    {
        var pace = PacePolicy.RateLimited(PacePolicy.Initial(Options, T0), Options, T0, alreadyPaused: false);
        var again = PacePolicy.RateLimited(pace, Options, T0.AddMilliseconds(5), alreadyPaused: true);

        Assert.Equal((5, TimeSpan.FromMilliseconds(100)), (pace.Permits, pace.Penalty));
        Assert.Equal((5, TimeSpan.FromMilliseconds(100), T0.AddMilliseconds(5)), (again.Permits, again.Penalty, again.Since));
    }

    [Fact]
    public void Each_quiet_decay_period_gives_back_one_permit_and_halves_the_penalty()
    {
        var pace = new Pace(5, TimeSpan.FromMilliseconds(100), T0);

        Assert.Equal(pace, PacePolicy.Recover(pace, Options, T0.AddSeconds(29)));
        Assert.Equal(new Pace(6, TimeSpan.FromMilliseconds(50), T0.AddSeconds(30)), PacePolicy.Recover(pace, Options, T0.AddSeconds(59)));
        var recovered = PacePolicy.Recover(pace, Options, T0.AddMinutes(10));
        Assert.Equal((10, TimeSpan.Zero), (recovered.Permits, recovered.Penalty));
        Assert.Equal(TimeSpan.FromMilliseconds(1010), PacePolicy.Window(recovered, Options));
    }
}
