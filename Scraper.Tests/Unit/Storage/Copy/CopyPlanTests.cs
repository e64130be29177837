using Scraper.Domain;
using Scraper.Storage.Copy;

namespace Scraper.Tests.Storage.Copy;

public sealed class CopyPlanTests
{
    private static readonly SeriesKey Btc = new("KRW-BTC", CandleUnit.FromMinutes(1));
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static TimeRange M(int from, int to) => new(T0.AddMinutes(from), T0.AddMinutes(to));

    [Fact]
    public void An_empty_target_gets_every_covered_range_in_blocks_of_at_most_the_block_length()
    {
        var blocks = CopyPlan.For(Btc, [M(0, 250), M(300, 400)], [], M(0, 400), TimeSpan.FromMinutes(100));

        Assert.Equal(
            [new CopyBlock(Btc, M(0, 100), true), new CopyBlock(Btc, M(100, 200), true), new CopyBlock(Btc, M(200, 250), true),
             new CopyBlock(Btc, M(250, 300), false), new CopyBlock(Btc, M(300, 400), true)],
            blocks);
    }

    [Fact]
    public void What_the_target_covers_is_done_and_skipped()
    {
        var blocks = CopyPlan.For(Btc, [M(0, 400)], [M(0, 150), M(200, 250)], M(0, 400), TimeSpan.FromMinutes(1000));

        Assert.Equal([new CopyBlock(Btc, M(150, 200), true), new CopyBlock(Btc, M(250, 400), true)], blocks);
    }

    [Fact]
    public void A_finished_copy_plans_only_the_candles_outside_the_source_coverage()
    {
        // The newest candle is stored but not yet covered (it may still settle): copied on every run, never claimed as covered.
        var blocks = CopyPlan.For(Btc, [M(0, 400)], [M(0, 400)], M(0, 401), TimeSpan.FromMinutes(100));

        Assert.Equal([new CopyBlock(Btc, M(400, 401), false)], blocks);
    }

    [Fact]
    public void A_series_with_coverage_and_no_candle_still_gets_its_coverage()
    {
        var blocks = CopyPlan.For(Btc, [M(0, 60)], [], null, TimeSpan.FromMinutes(100));

        Assert.Equal([new CopyBlock(Btc, M(0, 60), true)], blocks);
    }
}
