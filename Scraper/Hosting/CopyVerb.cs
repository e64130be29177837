using Microsoft.Extensions.Logging;
using Scraper.Metrics;
using Scraper.Storage.Copy;
using Scraper.Storage.Postgres;

namespace Scraper.Hosting;

/// <summary>
/// <c>copy --from STORE --to STORE</c>: every series' candles and coverage, block by block, each
/// block one transaction of the target with its coverage (binary COPY into PostgreSQL). What the
/// target already covers is skipped, so a stopped or killed copy run again continues where it
/// ended, and a finished one run again changes nothing. A progress bar on a terminal, a log line
/// every 10 s otherwise; exit 0 when everything is copied, 1 when stopped first.
/// </summary>
internal static partial class CopyVerb
{
    /// <summary>Runs the copy.</summary>
    public static async Task<int> RunAsync(ScraperSettings settings, CopyRequest request, ProgramContext app)
    {
        var from = Resolve("--from", request.From, "the store to copy from, e.g. --from data/candles.db");
        var to = Resolve("--to", request.To, "the store to copy into, e.g. --to postgres://scraper@db.example:5432/candles");
        if (from == to) throw new ConfigException($"invalid --to '{StoreFactory.Describe(to)}': it is the --from store; expected another store");
        if (!PostgresConnectionSettings.IsPostgres(from) && !File.Exists(from))
            throw new ConfigException($"invalid --from '{from}': file not found (expected an SQLite store written by bitcoin-price-scraper)");

        var journal = Logging.UnderSystemd(app.Environment);
        var interactive = !Console.IsOutputRedirected && app.Out == Console.Out && !journal;
        using var loggers = Logging.CreateFactory(settings.LogLevel, journal);
        var logger = loggers.CreateLogger("Scraper.Copy");
        var metrics = new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), CompositionRoot.Version);
        using var source = StoreFactory.Open(settings with { DbPath = from }, app, readOnly: true);
        using var target = StoreFactory.Open(settings with { DbPath = to }, app, readOnly: false, loggers, metrics);
        ICandleBulkWriter writer = target is PostgresCandleStore postgres ? new PostgresBulkCopy(postgres, app.Time) : new SaveResponseBulkWriter(target);
        var copy = new StoreCopy(source, target, writer);
        var (blocks, total) = copy.Plan();
        LogPlan(logger, StoreFactory.Describe(from), StoreFactory.Describe(to), blocks.Select(b => b.Series).Distinct().Count(), blocks.Count, total);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(app.Stop);
        var signals = ScraperApp.CancelOnSignals(stop);
        try
        {
            var started = app.Time.GetTimestamp();
            var display = new CopyDisplay(app.Time, started, interactive ? null : logger);
            var run = copy.RunAsync(blocks, total, display.Report, stop.Token);
            if (interactive) await display.ShowBarAsync(run);
            var summary = await run;
            var seconds = app.Time.GetElapsedTime(started).TotalSeconds;
            var rate = seconds > 0 ? summary.Candles / seconds : 0;
            if (summary.Stopped)
            {
                LogStopped(logger, summary.Candles, total, blocks.Count - summary.Blocks);
                return ExitCodes.Incomplete;
            }
            LogComplete(logger, summary.Candles, summary.Series, seconds, rate);
            return ExitCodes.Ok;
        }
        finally
        {
            foreach (var s in signals) s.Dispose();
        }
    }

    private static string Resolve(string flag, string? value, string expected)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new ConfigException($"invalid {flag} (missing): expected {expected}");
        return PostgresConnectionSettings.IsPostgres(value) ? value : Path.GetFullPath(value);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "copy from {From} to {To}: {Series} series, {Blocks} blocks, {Candles} candles to copy (ranges the target already covers are skipped)")]
    private static partial void LogPlan(ILogger logger, string from, string to, int series, int blocks, long candles);

    [LoggerMessage(Level = LogLevel.Information, Message = "copy complete: {Candles} candles of {Series} series with their coverage in {Seconds:0.0} s ({Rate:0} candles/s)")]
    private static partial void LogComplete(ILogger logger, long candles, int series, double seconds, double rate);

    [LoggerMessage(Level = LogLevel.Warning, Message = "copy stopped: {Done} of {Total} candles copied, {Left} blocks left; run it again to continue where it stopped")]
    private static partial void LogStopped(ILogger logger, long done, long total, int left);
}
