using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scraper.Storage;

namespace Scraper.Hosting;

/// <summary>
/// The daemon's single long-running loop: ticker and balances on their periods, the candle
/// backfill, then following. A database failure stops the host with exit code 74; everything the
/// exchange does is handled inside the pipeline and never ends this loop.
/// </summary>
internal sealed partial class DaemonService(
    CompositionRoot root,
    IHostApplicationLifetime lifetime,
    ILogger<DaemonService> logger) : BackgroundService
{
    /// <summary>The exit code the process should end with.</summary>
    public int ExitCode { get; private set; } = ExitCodes.Ok;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        stoppingToken.Register(root.StopSending);
        root.StartQuotes();
        try
        {
            var summary = await root.Collector.RunPassAsync(DateTimeOffset.MaxValue, null, logProgress: true, stoppingToken);
            if (summary.Stopped) return;
            LogStartPagesReleased(logger, ProcessMemory.ReleaseStartPages() / 1024.0);
            await root.Live.FollowAsync(stoppingToken);
        }
        catch (Exception e) when (e is SqliteException or StoreException or IOException)
        {
            ExitCode = ExitCodes.Database;
            // Store errors start with the file's path; the log line names it once.
            var path = StoreFactory.Describe(root.Settings.DbPath);
            var error = e.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? e.Message[(path.Length + 2)..] : e.Message;
            LogDatabaseFailed(logger, path, SettingsLoader.FirstLine(error));
            lifetime.StopApplication();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "start over: {MiB:0.0} MiB of the executable's pages that only the start used handed back to the kernel")]
    private static partial void LogStartPagesReleased(ILogger logger, double miB);

    [LoggerMessage(Level = LogLevel.Critical, Message = "database {Path} failed: {Error}; stopping (nothing committed is lost; restart once the cause is fixed)")]
    private static partial void LogDatabaseFailed(ILogger logger, string path, string error);
}
