using Scraper.Domain;

namespace Scraper.Storage.Copy;

/// <summary>
/// What a copy still has to do for one series, as a pure function of the two stores' coverage. The
/// target's coverage is the copy's progress: a block and its coverage commit together, so a range
/// the target covers is done and is skipped on a rerun. Candles outside the source's coverage (the
/// newest, still settling candle; candles beyond an asked window) are copied on every run, with no
/// coverage claimed for them: the upsert makes that idempotent.
/// </summary>
internal static class CopyPlan
{
    /// <summary>
    /// The blocks of <paramref name="series"/>, oldest first, each at most <paramref name="blockLength"/> long.
    /// </summary>
    /// <param name="series">The series.</param>
    /// <param name="source">The source's coverage, merged.</param>
    /// <param name="target">The target's coverage, merged.</param>
    /// <param name="candles">[oldest candle start, newest candle end) of the source, or null when it has no candle.</param>
    /// <param name="blockLength">The longest block (a whole number of intervals keeps blocks aligned).</param>
    public static IReadOnlyList<CopyBlock> For(SeriesKey series, IReadOnlyList<TimeRange> source, IReadOnlyList<TimeRange> target, TimeRange? candles, TimeSpan blockLength)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        if (blockLength <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(blockLength), blockLength, "must be positive");
        var blocks = new List<(TimeRange Range, bool Covered)>();
        var covered = Coverage.Merge(source);
        foreach (var range in covered)
        {
            foreach (var missing in Coverage.Gaps(target, range)) blocks.Add((missing, true));
        }
        if (candles is { IsEmpty: false } all)
        {
            foreach (var uncovered in Coverage.Gaps(covered, all)) blocks.Add((uncovered, false));
        }
        return blocks
            .OrderBy(b => b.Range.Start)
            .SelectMany(b => Split(b.Range, blockLength).Select(r => new CopyBlock(series, r, b.Covered)))
            .ToList();
    }

    private static IEnumerable<TimeRange> Split(TimeRange range, TimeSpan length)
    {
        for (var start = range.Start; start < range.End; start += length)
        {
            var end = range.End - start > length ? start + length : range.End;
            yield return new TimeRange(start, end);
        }
    }
}
