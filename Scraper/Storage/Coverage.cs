namespace Scraper.Storage;

// Placeholder until the storage branch lands; replaced by its version at merge.
public static class Coverage
{
    public static IReadOnlyList<TimeRange> Merge(IEnumerable<TimeRange> ranges)
    {
        var result = new List<TimeRange>();
        foreach (var r in ranges.Where(r => !r.IsEmpty).OrderBy(r => r.Start))
        {
            if (result.Count > 0 && r.Start <= result[^1].End)
                result[^1] = new TimeRange(result[^1].Start, r.End > result[^1].End ? r.End : result[^1].End);
            else result.Add(r);
        }
        return result;
    }

    public static IReadOnlyList<TimeRange> Gaps(IReadOnlyList<TimeRange> covered, TimeRange wanted)
    {
        var gaps = new List<TimeRange>();
        var cursor = wanted.Start;
        foreach (var c in Merge(covered))
        {
            if (c.End <= cursor) continue;
            if (c.Start >= wanted.End) break;
            if (c.Start > cursor) gaps.Add(new TimeRange(cursor, c.Start));
            cursor = c.End;
        }
        if (cursor < wanted.End) gaps.Add(new TimeRange(cursor, wanted.End));
        return gaps;
    }

    public static DateTimeOffset CoveredUntil(IReadOnlyList<TimeRange> covered, DateTimeOffset from)
    {
        var until = from;
        foreach (var c in Merge(covered))
        {
            if (c.Start <= until && c.End > until) until = c.End;
        }
        return until;
    }
}
