using Microsoft.Extensions.Logging;
using Scraper.Domain;
using Scraper.Storage;

namespace Scraper.Pipeline;

/// <summary>
/// The store's subscriber: decides what of a fetched page is kept and what counts as covered, and
/// writes both in one transaction. Coverage comes from the window that was asked for, never from
/// counting candles (a minute without trades has no candle): a page covers its window up to the
/// last interval that is at least one interval in the past — on the exchange's clock as well as on
/// ours, since the exchange cannot have answered for minutes that had not yet happened on its own
/// clock (a host running ahead would otherwise mark them covered with no candles, "no trades").
/// The exchange's clock is the page's <c>Date</c> header: whole seconds, so never later than the
/// exchange's clock was; a page without one is capped by the local clock alone. Candles outside
/// the window are kept only if they are closed and of the asked market; they never extend coverage.
/// </summary>
internal sealed partial class CandleResultWriter(ICandleStore store, IPipelineTelemetry telemetry, TimeProvider time, ILogger<CandleResultWriter> logger)
{
    /// <summary>Stores one result; returns the candles written (0 for a skipped window).</summary>
    public int Write(WindowResult result)
    {
        if (!result.Fetched) return 0;
        var window = result.Window;
        var series = window.Series;
        var now = time.GetUtcNow();
        var closedEnd = WindowPlanner.ClosedEnd(series, now);

        var candles = result.Candles;
        // The page itself is stored when every candle is kept, as nearly always; a copy only without the others.
        List<Candle>? keep = null;
        // A page in strict order of start (the exchange sends newest first) cannot repeat one:
        // only a page out of order needs the set.
        var seen = StrictlyOrdered(candles) ? null : new HashSet<DateTimeOffset>(candles.Count);
        var outside = 0;
        var dropped = 0;
        var duplicates = 0;
        DateTimeOffset? newest = null;
        for (var i = 0; i < candles.Count; i++)
        {
            var candle = candles[i];
            var duplicate = seen is not null && !seen.Add(candle.StartUtc);
            var valid = !duplicate && candle.Market == series.Market && candle.Unit == series.Unit
                        && series.Unit.AlignDown(candle.StartUtc) == candle.StartUtc && candle.StartUtc < closedEnd;
            if (!valid)
            {
                if (duplicate) duplicates++;
                else dropped++;
                keep ??= [.. candles.Take(i)];
                continue;
            }
            if (!window.Range.Contains(candle.StartUtc)) outside++;
            keep?.Add(candle);
            if (newest is not { } n || candle.StartUtc > n) newest = candle.StartUtc;
        }
        IReadOnlyList<Candle> stored = keep ?? candles;
        if (outside > 0) telemetry.Report(new PipelineEvent.UnexpectedCandles(series, "stored_outside_window", outside));
        if (duplicates > 0) telemetry.Report(new PipelineEvent.UnexpectedCandles(series, "duplicate", duplicates));
        if (dropped > 0)
        {
            telemetry.Report(new PipelineEvent.UnexpectedCandles(series, "dropped", dropped));
            LogDropped(logger, dropped, series.Market, series.Unit.Name, window.Range.ToString());
        }

        var coverableEnd = WindowPlanner.CoverableEnd(series, now);
        if (result.LastResponse.Date is { } exchange && WindowPlanner.CoverableEnd(series, exchange.Date) < coverableEnd)
            coverableEnd = WindowPlanner.CoverableEnd(series, exchange.Date);
        var coveredEnd = window.End < coverableEnd ? window.End : coverableEnd;
        TimeRange? covered = coveredEnd > window.Start ? new TimeRange(window.Start, coveredEnd) : null;

        int written;
        try
        {
            written = store.SaveResponse(series, stored, covered);
        }
        catch
        {
            telemetry.Report(new PipelineEvent.StoreFailed());
            throw;
        }
        telemetry.Report(new PipelineEvent.CandlesStored(series, written, newest));
        return written;
    }

    private static bool StrictlyOrdered(IReadOnlyList<Candle> candles)
    {
        if (candles.Count < 2) return true;
        var descending = candles[1].StartUtc < candles[0].StartUtc;
        for (var i = 1; i < candles.Count; i++)
        {
            var order = candles[i].StartUtc.CompareTo(candles[i - 1].StartUtc);
            if (order == 0 || order < 0 != descending) return false;
        }
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "dropped {Count} candles of the wrong market, unit or alignment, or still forming, in the answer for {Market} unit {Unit} window {Window}")]
    private static partial void LogDropped(ILogger logger, int count, string market, string unit, string window);
}
