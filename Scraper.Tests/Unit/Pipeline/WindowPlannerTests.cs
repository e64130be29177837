using Scraper.Domain;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

public class WindowPlannerTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey Btc1 = new("KRW-BTC", CandleUnit.FromMinutes(1));

    [Fact]
    public void Split_makes_windows_of_at_most_200_intervals_ending_exactly_at_the_range_end()
    {
        var windows = WindowPlanner.Split(Btc1, [new TimeRange(T0, T0.AddMinutes(450))]).ToList();

        Assert.Equal([200, 200, 50], windows.Select(w => w.Count));
        Assert.Equal(T0, windows[0].Start);
        Assert.Equal(T0.AddMinutes(450), windows[^1].End);
        Assert.All(windows.Zip(windows.Skip(1)), p => Assert.Equal(p.First.End, p.Second.Start));
        Assert.Equal(new CandleQuery("KRW-BTC", Btc1.Unit, T0.AddMinutes(200), 200), windows[0].Query);
    }

    [Fact]
    public void Missing_plans_only_what_coverage_lacks()
    {
        var covered = new[] { new TimeRange(T0.AddMinutes(100), T0.AddMinutes(300)) };

        var missing = WindowPlanner.Missing(Btc1, covered, T0, T0.AddMinutes(500));

        Assert.Equal([new TimeRange(T0, T0.AddMinutes(100)), new TimeRange(T0.AddMinutes(300), T0.AddMinutes(500))], missing);
    }

    [Fact]
    public void Missing_aligns_since_down_and_until_down_to_the_unit()
    {
        var unit = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(240));
        var missing = WindowPlanner.Missing(unit, [], T0.AddMinutes(61), T0.AddHours(13));

        Assert.Equal([new TimeRange(T0, T0.AddHours(12))], missing);
    }

    [Fact]
    public void The_forming_candle_is_never_planned_and_the_newest_closed_one_is_not_yet_coverable()
    {
        var now = T0.AddMinutes(10).AddSeconds(30);

        Assert.Equal(T0.AddMinutes(10), WindowPlanner.ClosedEnd(Btc1, now));
        Assert.Equal(T0.AddMinutes(9), WindowPlanner.CoverableEnd(Btc1, now));
        var day = new SeriesKey("KRW-BTC", CandleUnit.Day);
        Assert.Equal(T0, WindowPlanner.ClosedEnd(day, T0.AddHours(5)));
        Assert.Equal(T0.AddDays(-1), WindowPlanner.CoverableEnd(day, T0.AddHours(5)));
    }

    [Fact]
    public void Interleave_orders_windows_of_all_series_by_start()
    {
        var eth = new SeriesKey("KRW-ETH", CandleUnit.FromMinutes(1));
        var range = new TimeRange(T0, T0.AddMinutes(400));

        var windows = WindowPlanner.Interleave([WindowPlanner.Split(Btc1, [range]), WindowPlanner.Split(eth, [range])]).ToList();

        Assert.Equal(["KRW-BTC", "KRW-ETH", "KRW-BTC", "KRW-ETH"], windows.Select(w => w.Series.Market));
    }
}
