using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Storage;

namespace Scraper.Hosting;

/// <summary>Coverage, candle count and gaps of one series within the wanted range.</summary>
internal sealed record SeriesReport(SeriesKey Series, TimeRange Wanted, IReadOnlyList<TimeRange> Covered, long Candles, IReadOnlyList<TimeRange> Gaps)
{
    /// <summary>
    /// Reports a series: wanted is [since, until), capped to what may be covered at
    /// <paramref name="now"/> (the newest candle counts only once it is an interval old).
    /// </summary>
    public static SeriesReport For(ICandleStore store, SeriesKey series, DateTimeOffset since, DateTimeOffset? until, DateTimeOffset now)
    {
        var coverable = WindowPlanner.CoverableEnd(series, now);
        var end = until is { } u && series.Unit.AlignDown(u) < coverable ? series.Unit.AlignDown(u) : coverable;
        var wanted = new TimeRange(series.Unit.AlignDown(since), end);
        var covered = store.GetCoverage(series);
        var gaps = wanted.IsEmpty ? [] : Coverage.Gaps(covered, wanted);
        return new SeriesReport(series, wanted, covered, store.CountCandles(series), gaps);
    }

    /// <summary>Writes the report as lines a person reads.</summary>
    public void WriteTo(TextWriter output)
    {
        output.WriteLine($"{Series.Market} unit {Series.Unit.Name}: {Candles} candles; wanted {Wanted}; covered {(Covered.Count == 0 ? "nothing" : string.Join(", ", Covered))}");
        if (Gaps.Count == 0)
        {
            output.WriteLine($"{Series.Market} unit {Series.Unit.Name}: no gap");
            return;
        }
        foreach (var gap in Gaps)
        {
            var intervals = (gap.End - gap.Start).Ticks / Series.Unit.Interval.Ticks;
            output.WriteLine($"{Series.Market} unit {Series.Unit.Name}: GAP {gap} ({intervals} intervals never fetched)");
        }
    }
}
