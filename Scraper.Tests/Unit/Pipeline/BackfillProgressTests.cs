using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Metrics;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

public class BackfillProgressTests
{
    private static readonly SeriesKey Btc = new("KRW-BTC", CandleUnit.FromMinutes(1));
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A wall clock the test steps and a monotonic clock it advances, separately.</summary>
    private sealed class SteppingTime : TimeProvider
    {
        public DateTimeOffset Wall { get; set; } = T0;
        public TimeSpan Monotonic { get; set; }
        public override DateTimeOffset GetUtcNow() => Wall;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => Monotonic.Ticks;
    }

    [Fact]
    public void Rate_and_ETA_are_measured_on_the_monotonic_clock_through_a_wall_clock_step()
    {
        var time = new SteppingTime();
        var plan = new Dictionary<SeriesKey, (TimeRange Wanted, TimeSpan Missing, int Windows)>
        {
            [Btc] = (new TimeRange(T0.AddMinutes(-800), T0), TimeSpan.FromMinutes(800), 4),
        };
        var progress = new BackfillProgress(plan, new MetricsSubscriber(new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test")), time);
        var response = new ExchangeResponse<IReadOnlyList<Candle>>(ExchangeOutcome.Success, [], 200, null, TimeSpan.Zero);

        time.Monotonic = TimeSpan.FromSeconds(10);
        time.Wall = T0.AddHours(-1).AddSeconds(10); // the clock was an hour fast and is stepped back
        progress.Add(new WindowResult(new CandleWindow(Btc, T0.AddMinutes(-800), T0.AddMinutes(-600)), response, 1), 200);

        Assert.Equal(20, progress.CandlesPerSecond, 3);
        Assert.Equal(TimeSpan.FromSeconds(30), progress.Eta);
    }
}
