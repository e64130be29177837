using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Storage;

namespace Scraper.Tests.Fleet;

/// <summary>The shared grid of chunks: every scraper cuts the same plan into the same chunks.</summary>
public sealed class LeasedPassTests
{
    private static readonly SeriesKey Btc = new("KRW-BTC", CandleUnit.FromMinutes(1));

    [Fact]
    public void Windows_are_grouped_into_chunks_of_ten_windows_on_a_grid_and_a_window_across_a_boundary_is_split()
    {
        var span = TimeSpan.FromMinutes(2000);
        var cell = new DateTimeOffset(2025, 6, 24, 0, 0, 0, TimeSpan.Zero);
        cell = new DateTimeOffset(cell.UtcTicks - cell.UtcTicks % span.Ticks, TimeSpan.Zero);
        var since = cell + span - TimeSpan.FromMinutes(50);
        var windows = WindowPlanner.Split(Btc, [new TimeRange(since, since + TimeSpan.FromMinutes(400))]).ToList();

        var chunks = LeasedPass.Chunks(windows);

        Assert.Equal([new WorkLease(LeaseKind.Windows, Btc, cell), new WorkLease(LeaseKind.Windows, Btc, cell + span)], chunks.Keys);
        Assert.Equal([new TimeRange(since, cell + span)], chunks[new WorkLease(LeaseKind.Windows, Btc, cell)]);
        Assert.Equal(TimeSpan.FromMinutes(350), chunks[new WorkLease(LeaseKind.Windows, Btc, cell + span)].Aggregate(TimeSpan.Zero, (t, r) => t + (r.End - r.Start)));
    }

    [Fact]
    public void Two_plans_made_at_different_moments_share_their_chunks()
    {
        var start = new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var early = WindowPlanner.Split(Btc, [new TimeRange(start, start.AddDays(10))]);
        var later = WindowPlanner.Split(Btc, [new TimeRange(start.AddMinutes(7), start.AddDays(10).AddMinutes(3))]);

        var a = LeasedPass.Chunks(early).Keys.ToList();
        var b = LeasedPass.Chunks(later).Keys.ToList();

        // The same cells, give or take the one at either end that the later plan moved into or out of.
        Assert.True(a.Intersect(b).Count() >= a.Count - 1, $"{a.Count} vs {b.Count} chunks, {a.Intersect(b).Count()} shared");
        Assert.True(Math.Abs(a.Count - b.Count) <= 1);
    }
}
