using Microsoft.Extensions.Logging;
using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Storage;
using Scraper.Storage.Postgres;

namespace Scraper.Hosting;

/// <summary>
/// <c>backfill</c>: one pass over the configured range, a progress bar when stdout is a terminal (a
/// progress log line every 10 s otherwise); exit 0 when the range is complete, 1 when a gap is left.
/// </summary>
internal static partial class BackfillVerb
{
    /// <summary>Runs the pass.</summary>
    public static async Task<int> RunAsync(CompositionRoot root, ProgramContext app)
    {
        var settings = root.Settings;
        var interactive = !Console.IsOutputRedirected && app.Out == Console.Out && !Logging.UnderSystemd(app.Environment);
        var logger = root.Loggers.CreateLogger("Scraper.Backfill");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(app.Stop);
        var signals = ScraperApp.CancelOnSignals(stop);
        try
        {
            var until = settings.Until ?? app.Time.GetUtcNow();
            // The market list is another rate group than the candles: the first candle request (the
            // candle group's probe) leaves beside the check instead of one round trip after it. Its
            // page is held until the markets are known to be good; the store is opened only then.
            var first = FirstRequest(root, settings, until, app, stop.Token);
            try
            {
                await root.CheckMarketsAsync(stop.Token);
            }
            catch (Exception)
            {
                // Cancelled by its own token, the first request ends quietly; torn down with the
                // client it would be logged as a failed connection before the one-line error.
                await stop.CancelAsync();
                await SettleAsync(first);
                throw;
            }
            var store = root.OpenStore();
            // The newest candle counts as complete only one interval after it closed, so a pass that
            // ends after a candle boundary leaves the last minutes of some series short of what is
            // now complete. One catch-up pass fetches them; the check then asks for what could be
            // complete when the last pass started, which a pass without skips always achieves.
            var total = new PassSummary(0, 0, 0, 0, false);
            // A first request that failed is not counted: its window is still missing, so the pass fetches it.
            if (await SettleAsync(first) is { Fetched: true } page) total = new PassSummary(1, 1, 0, root.Collector.Store(page), false);
            ProcessMemory.ReleaseStartPages();
            DateTimeOffset checkedAt;
            var passes = 0;
            do
            {
                checkedAt = app.Time.GetUtcNow();
                var pass = root.Collector.RunPassAsync(until, null, logProgress: !interactive, stop.Token);
                if (interactive) await ShowProgressAsync(root.Collector, pass, app.Time);
                var summary = await pass;
                total = new PassSummary(total.WindowsPlanned + summary.WindowsPlanned, total.WindowsFetched + summary.WindowsFetched,
                    total.WindowsSkipped + summary.WindowsSkipped, total.CandlesWritten + summary.CandlesWritten, summary.Stopped);
            }
            while (++passes < 2 && !total.Stopped && total.WindowsSkipped == 0 && GapsAt(app.Time.GetUtcNow()) > 0);

            var gaps = GapsAt(checkedAt);
            if (gaps == 0 && !total.Stopped)
            {
                LogComplete(logger, total.CandlesWritten, total.WindowsFetched);
                return ExitCodes.Ok;
            }
            LogIncomplete(logger, gaps, total.WindowsSkipped, total.Stopped ? "stopped before the end" : total.WindowsSkipped > 0 ? "windows were skipped" : "candles kept closing during the run");
            return ExitCodes.Incomplete;

            int GapsAt(DateTimeOffset now) => settings.Series.Sum(s => SeriesReport.For(store, s, settings.Since, until, now).Gaps.Count);
        }
        finally
        {
            foreach (var s in signals) s.Dispose();
        }
    }

    /// <summary>
    /// Sends the window the first pass would fetch first, planned from what is stored as read without
    /// writing (a missing SQLite file holds nothing; an existing one is opened read-only). None for
    /// PostgreSQL, whose windows a fleet leases (a request outside a lease could repeat another
    /// scraper's), nor when the file cannot be read so: the pass then starts after the check.
    /// </summary>
    private static Task<WindowResult?>? FirstRequest(CompositionRoot root, ScraperSettings settings, DateTimeOffset until, ProgramContext app, CancellationToken stop)
    {
        if (PostgresConnectionSettings.IsPostgres(settings.DbPath)) return null;
        Dictionary<SeriesKey, IReadOnlyList<TimeRange>> stored = [];
        if (File.Exists(settings.DbPath))
        {
            try
            {
                using var reader = StoreFactory.Open(settings, app, readOnly: true);
                stored = settings.Series.ToDictionary(key => key, reader.GetCoverage);
            }
            catch (StoreException)
            {
                return null;
            }
        }
        var window = CandleCollector.FirstWindow(settings.Series, key => stored.GetValueOrDefault(key) ?? [], settings.Since, until, app.Time.GetUtcNow());
        return window is null ? null : root.FetchWindowAsync(window, stop);
    }

    /// <summary>The first request's result; null when there was none or a stop ended it.</summary>
    private static async Task<WindowResult?> SettleAsync(Task<WindowResult?>? first)
    {
        if (first is null) return null;
        try
        {
            return await first;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static Task ShowProgressAsync(CandleCollector collector, Task pass, TimeProvider time) =>
        ProgressBar.ShowAsync("backfill", pass, () => collector.Progress is { } p
            ? (p.Ratio, $"backfill {p.WindowsDone}/{p.WindowsTotal} windows, {p.CandlesPerSecond:0} candles/s")
            : null, time);

    [LoggerMessage(Level = LogLevel.Information, Message = "backfill complete: {Candles} candles written from {Windows} windows; no gap in the range")]
    private static partial void LogComplete(ILogger logger, long candles, int windows);

    [LoggerMessage(Level = LogLevel.Error, Message = "backfill incomplete: {Gaps} gap(s) left, {Skipped} windows skipped ({Why}); run it again to fetch only what is missing")]
    private static partial void LogIncomplete(ILogger logger, int gaps, int skipped, string why);
}
