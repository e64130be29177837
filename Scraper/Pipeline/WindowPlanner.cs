using Scraper.Domain;
using Scraper.Storage;

namespace Scraper.Pipeline;

/// <summary>
/// Turns "what is wanted" minus "what is covered" into candle pages of at most 200 intervals,
/// aligned to the unit. Pure: the same inputs always give the same windows.
/// </summary>
internal static class WindowPlanner
{
    /// <summary>
    /// The end of the closed candles at <paramref name="now"/>: every candle that starts before it
    /// has closed. Fetching stops here; the forming candle is never asked for.
    /// </summary>
    public static DateTimeOffset ClosedEnd(SeriesKey series, DateTimeOffset now) => series.Unit.AlignDown(now);

    /// <summary>
    /// How far a response fetched at <paramref name="now"/> may count as complete: its end must lie
    /// at least one interval in the past, because the exchange may still be settling the newest
    /// candle. Candles after this are stored but fetched again next time.
    /// </summary>
    public static DateTimeOffset CoverableEnd(SeriesKey series, DateTimeOffset now) =>
        series.Unit.AlignDown(now - series.Unit.Interval);

    /// <summary>The part of [since, ClosedEnd(now)) that <paramref name="covered"/> does not cover, aligned.</summary>
    public static IReadOnlyList<TimeRange> Missing(SeriesKey series, IReadOnlyList<TimeRange> covered, DateTimeOffset since, DateTimeOffset until)
    {
        var start = series.Unit.AlignDown(since);
        var end = series.Unit.AlignDown(until);
        if (end <= start) return [];
        return Coverage.Gaps(covered, new TimeRange(start, end));
    }

    /// <summary>Splits ranges into windows of at most 200 intervals, oldest first.</summary>
    public static IEnumerable<CandleWindow> Split(SeriesKey series, IEnumerable<TimeRange> ranges)
    {
        var interval = series.Unit.Interval;
        var span = interval * CandleWindow.MaxCandles;
        foreach (var range in ranges)
        {
            var start = series.Unit.AlignDown(range.Start);
            var end = series.Unit.AlignDown(range.End) == range.End ? range.End : series.Unit.AlignDown(range.End) + interval;
            for (var windowStart = start; windowStart < end; windowStart += span)
            {
                var windowEnd = windowStart + span < end ? windowStart + span : end;
                yield return new CandleWindow(series, windowStart, windowEnd);
            }
        }
    }

    /// <summary>
    /// Interleaves the windows of several series by start time, so every series advances together
    /// and progress is even.
    /// </summary>
    public static IEnumerable<CandleWindow> Interleave(IEnumerable<IEnumerable<CandleWindow>> perSeries) =>
        perSeries.SelectMany(w => w).OrderBy(w => w.Start).ThenBy(w => w.Series.Market, StringComparer.Ordinal).ThenBy(w => w.Series.Unit.Minutes);
}
