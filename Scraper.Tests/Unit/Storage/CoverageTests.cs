using Scraper.Domain;
using Scraper.Storage;
using static Scraper.Tests.Storage.TestCandles;

namespace Scraper.Tests.Storage;

public class CoverageTests
{
    [Fact]
    public void Merge_overlapping_ranges_become_one()
    {
        var merged = Coverage.Merge([Range(0, 10), Range(5, 20)]);

        Assert.Equal([Range(0, 20)], merged);
    }

    [Fact]
    public void Merge_adjacent_ranges_become_one()
    {
        var merged = Coverage.Merge([Range(10, 20), Range(0, 10)]);

        Assert.Equal([Range(0, 20)], merged);
    }

    [Fact]
    public void Merge_disjoint_ranges_stay_apart_and_sorted()
    {
        var merged = Coverage.Merge([Range(30, 40), Range(0, 10), Range(11, 20)]);

        Assert.Equal([Range(0, 10), Range(11, 20), Range(30, 40)], merged);
    }

    [Fact]
    public void Merge_contained_range_disappears_into_its_container()
    {
        var merged = Coverage.Merge([Range(0, 100), Range(20, 30), Range(0, 100)]);

        Assert.Equal([Range(0, 100)], merged);
    }

    [Fact]
    public void Merge_drops_empty_ranges_and_bridges_chains()
    {
        var merged = Coverage.Merge([Range(5, 5), Range(9, 3), Range(0, 10), Range(10, 15), Range(14, 30)]);

        Assert.Equal([Range(0, 30)], merged);
    }

    [Fact]
    public void Merge_treats_offsets_as_instants()
    {
        var kst = TimeSpan.FromHours(9);
        var merged = Coverage.Merge([Range(0, 10), new TimeRange(At(10).ToOffset(kst), At(20).ToOffset(kst))]);

        Assert.Equal([Range(0, 20)], merged);
    }

    [Fact]
    public void Absorb_without_stored_ranges_is_the_added_range()
    {
        Assert.Equal(Range(10, 20), Coverage.Absorb(Range(10, 20), []));
    }

    [Fact]
    public void Absorb_takes_in_ranges_that_overlap_or_touch_on_either_side()
    {
        Assert.Equal(Range(0, 30), Coverage.Absorb(Range(10, 20), [Range(0, 10), Range(20, 30)]));
        Assert.Equal(Range(5, 25), Coverage.Absorb(Range(10, 20), [Range(5, 12), Range(18, 25)]));
    }

    [Fact]
    public void Absorb_into_a_containing_range_is_that_range()
    {
        Assert.Equal(Range(0, 100), Coverage.Absorb(Range(20, 30), [Range(0, 100)]));
    }

    [Fact]
    public void Absorb_swallows_contained_ranges()
    {
        Assert.Equal(Range(-10, 200), Coverage.Absorb(Range(-10, 200), [Range(0, 100), Range(110, 120), Range(130, 140)]));
    }

    [Fact]
    public void Absorb_ignores_ranges_apart_from_the_added_one()
    {
        Assert.Equal(Range(10, 20), Coverage.Absorb(Range(10, 20), [Range(0, 9), Range(21, 30)]));
    }

    [Fact]
    public void Absorb_keeps_sub_second_bounds_exact()
    {
        var end = At(10).AddTicks(1_234_567);

        Assert.Equal(Range(0, 20), Coverage.Absorb(new TimeRange(end, At(20)), [new TimeRange(At(0), end)]));
        Assert.Equal(new TimeRange(At(0), end), Coverage.Absorb(new TimeRange(At(0), At(5)), [new TimeRange(At(5), end)]));
    }

    [Fact]
    public void Touches_is_true_for_overlapping_and_adjacent_ranges_only()
    {
        Assert.True(Coverage.Touches(Range(0, 10), Range(10, 20)));
        Assert.True(Coverage.Touches(Range(10, 20), Range(0, 10)));
        Assert.True(Coverage.Touches(Range(0, 10), Range(5, 6)));
        Assert.False(Coverage.Touches(Range(0, 10), Range(11, 20)));
        Assert.False(Coverage.Touches(Range(11, 20), Range(0, 10)));
    }

    [Fact]
    public void Gaps_without_coverage_is_the_whole_wanted_range()
    {
        Assert.Equal([Range(0, 60)], Coverage.Gaps([], Range(0, 60)));
    }

    [Fact]
    public void Gaps_fully_covered_is_empty()
    {
        Assert.Empty(Coverage.Gaps([Range(-10, 30), Range(30, 100)], Range(0, 60)));
    }

    [Fact]
    public void Gaps_are_the_holes_between_and_around_covered_ranges()
    {
        var gaps = Coverage.Gaps([Range(10, 20), Range(30, 40), Range(100, 200)], Range(0, 60));

        Assert.Equal([Range(0, 10), Range(20, 30), Range(40, 60)], gaps);
    }

    [Fact]
    public void Gaps_clip_coverage_that_sticks_out_of_the_wanted_range()
    {
        var gaps = Coverage.Gaps([Range(-50, 10), Range(50, 500)], Range(0, 60));

        Assert.Equal([Range(10, 50)], gaps);
    }

    [Fact]
    public void Gaps_accept_unsorted_overlapping_coverage()
    {
        var gaps = Coverage.Gaps([Range(25, 40), Range(10, 30), Range(12, 14)], Range(0, 60));

        Assert.Equal([Range(0, 10), Range(40, 60)], gaps);
    }

    [Fact]
    public void Gaps_of_an_empty_wanted_range_are_none()
    {
        Assert.Empty(Coverage.Gaps([], Range(10, 10)));
    }

    [Fact]
    public void CoveredUntil_inside_a_run_is_its_end()
    {
        Assert.Equal(At(40), Coverage.CoveredUntil([Range(0, 40), Range(50, 60)], At(10)));
    }

    [Fact]
    public void CoveredUntil_at_the_start_of_a_run_is_its_end()
    {
        Assert.Equal(At(60), Coverage.CoveredUntil([Range(0, 40), Range(50, 60)], At(50)));
    }

    [Fact]
    public void CoveredUntil_follows_adjacent_pieces_as_one_run()
    {
        Assert.Equal(At(90), Coverage.CoveredUntil([Range(40, 90), Range(0, 40)], At(5)));
    }

    [Fact]
    public void CoveredUntil_in_a_gap_is_from_itself()
    {
        Assert.Equal(At(45), Coverage.CoveredUntil([Range(0, 40), Range(50, 60)], At(45)));
    }

    [Fact]
    public void CoveredUntil_at_the_exclusive_end_of_a_run_is_from_itself()
    {
        Assert.Equal(At(40), Coverage.CoveredUntil([Range(0, 40)], At(40)));
    }

    [Fact]
    public void CoveredUntil_without_coverage_is_from_itself()
    {
        Assert.Equal(At(7), Coverage.CoveredUntil([], At(7)));
    }
}
