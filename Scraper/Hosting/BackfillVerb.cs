using System.Reactive.Concurrency;
using Microsoft.Extensions.Logging;
using Scraper.Metrics;
using Scraper.Storage;
using Spectre.Console;

namespace Scraper.Hosting;

/// <summary>
/// <c>backfill</c>: one pass over the configured range, a progress bar when stdout is a terminal (a
/// progress log line every 10 s otherwise); exit 0 when the range is complete, 1 when a gap is left.
/// </summary>
public static partial class BackfillVerb
{
    /// <summary>Runs the pass.</summary>
    public static async Task<int> RunAsync(ScraperSettings settings, AppContext app)
    {
        var journal = Logging.UnderSystemd(app.Environment);
        var interactive = !Console.IsOutputRedirected && app.Out == Console.Out && !journal;
        using var loggers = Logging.CreateFactory(settings.LogLevel, journal);
        var logger = loggers.CreateLogger("Scraper.Backfill");
        var metrics = new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), ScraperComponents.Version);
        using var store = SqliteCandleStore.Open(settings.DbPath, app.Time);
        using var components = new ScraperComponents(settings, store, metrics, loggers, app.Time, DefaultScheduler.Instance);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(app.Stop);
        var signals = ScraperApp.CancelOnSignals(stop);
        try
        {
            var until = settings.Until ?? app.Time.GetUtcNow();
            var pass = components.Collector.RunPassAsync(until, null, logProgress: !interactive, stop.Token);
            if (interactive) await ShowProgressAsync(components, pass, app.Time);
            var summary = await pass;

            var now = app.Time.GetUtcNow();
            var gaps = settings.Series.Sum(s => SeriesReport.For(store, s, settings.Since, until, now).Gaps.Count);
            if (gaps == 0 && !summary.Stopped)
            {
                LogComplete(logger, summary.CandlesWritten, summary.WindowsFetched);
                return ExitCodes.Ok;
            }
            LogIncomplete(logger, gaps, summary.WindowsSkipped, summary.Stopped ? "stopped before the end" : "windows were skipped");
            return ExitCodes.Incomplete;
        }
        finally
        {
            foreach (var s in signals) s.Dispose();
        }
    }

    private static async Task ShowProgressAsync(ScraperComponents components, Task pass, TimeProvider time)
    {
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("backfill", maxValue: 1.0);
                while (!pass.IsCompleted)
                {
                    if (components.Collector.Progress is { } p)
                    {
                        task.Value = p.Ratio;
                        task.Description = $"backfill {p.WindowsDone}/{p.WindowsTotal} windows, {p.CandlesPerSecond:0} candles/s";
                    }
                    await Task.WhenAny(pass, Task.Delay(TimeSpan.FromMilliseconds(200), time));
                }
                task.Value = task.MaxValue;
            });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "backfill complete: {Candles} candles written from {Windows} windows; no gap in the range")]
    private static partial void LogComplete(ILogger logger, long candles, int windows);

    [LoggerMessage(Level = LogLevel.Error, Message = "backfill incomplete: {Gaps} gap(s) left, {Skipped} windows skipped ({Why}); run it again to fetch only what is missing")]
    private static partial void LogIncomplete(ILogger logger, int gaps, int skipped, string why);
}
