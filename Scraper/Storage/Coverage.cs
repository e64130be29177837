using Scraper.Domain;

namespace Scraper.Storage;

/// <summary>
/// Pure helpers over half-open coverage ranges [Start, End). Ranges that overlap or touch are one
/// contiguous run: [a, b) and [b, c) merge into [a, c).
/// </summary>
internal static class Coverage
{
    /// <summary>Merges ranges into sorted, disjoint, non-adjacent ranges; empty ranges are dropped.</summary>
    public static IReadOnlyList<TimeRange> Merge(IEnumerable<TimeRange> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        var sorted = ranges.Where(r => !r.IsEmpty).OrderBy(r => r.Start).ToList();
        var merged = new List<TimeRange>(sorted.Count);
        foreach (var range in sorted)
        {
            if (merged.Count > 0 && range.Start <= merged[^1].End)
            {
                var last = merged[^1];
                if (range.End > last.End) merged[^1] = last with { End = range.End };
            }
            else
            {
                merged.Add(range);
            }
        }
        return merged;
    }

    /// <summary>True when the two ranges overlap or touch ([a, b) and [b, c)): together they are one contiguous run.</summary>
    public static bool Touches(TimeRange a, TimeRange b) => a.Start <= b.End && a.End >= b.Start;

    /// <summary>
    /// The one range a store keeps in place of <paramref name="added"/> and every stored range that
    /// <see cref="Touches"/> it; stored ranges apart from it are ignored. Stored ranges are merged, so
    /// those it touches are all it reaches: a store replaces exactly them with the result.
    /// </summary>
    public static TimeRange Absorb(TimeRange added, IEnumerable<TimeRange> stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var start = added.Start;
        var end = added.End;
        foreach (var range in stored)
        {
            if (!Touches(range, added)) continue;
            if (range.Start < start) start = range.Start;
            if (range.End > end) end = range.End;
        }
        return new TimeRange(start, end);
    }

    /// <summary>The parts of <paramref name="wanted"/> that no range of <paramref name="covered"/> holds, oldest first.</summary>
    public static IReadOnlyList<TimeRange> Gaps(IReadOnlyList<TimeRange> covered, TimeRange wanted)
    {
        ArgumentNullException.ThrowIfNull(covered);
        var gaps = new List<TimeRange>();
        if (wanted.IsEmpty) return gaps;

        var cursor = wanted.Start;
        foreach (var range in Merge(covered))
        {
            if (range.End <= cursor) continue;
            if (range.Start >= wanted.End) break;
            if (range.Start > cursor) gaps.Add(new TimeRange(cursor, range.Start));
            cursor = range.End;
            if (cursor >= wanted.End) return gaps;
        }
        gaps.Add(new TimeRange(cursor, wanted.End));
        return gaps;
    }

    /// <summary>
    /// The end of the contiguous covered run that holds <paramref name="from"/> (a run that starts at
    /// or before it and ends after it), or <paramref name="from"/> itself when no range holds it.
    /// </summary>
    public static DateTimeOffset CoveredUntil(IReadOnlyList<TimeRange> covered, DateTimeOffset from)
    {
        ArgumentNullException.ThrowIfNull(covered);
        foreach (var range in Merge(covered))
        {
            if (range.Start > from) break;
            if (range.End > from) return range.End;
        }
        return from;
    }
}
