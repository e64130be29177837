using Microsoft.Extensions.Logging;
using Scraper.Storage.Copy;

namespace Scraper.Hosting;

/// <summary>Shows a copy's progress: a bar on a terminal, or (with a logger) a line every 10 s.</summary>
internal sealed partial class CopyDisplay(TimeProvider time, long started, ILogger? logger)
{
    private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(10);

    private CopyProgress? _latest;
    private readonly long _started = started;
    private long _lastLog = started;

    /// <summary>Takes the progress after a block (from the copy's thread).</summary>
    public void Report(CopyProgress progress)
    {
        Volatile.Write(ref _latest, progress);
        if (logger is null || time.GetElapsedTime(Volatile.Read(ref _lastLog)) < LogEvery) return;
        Volatile.Write(ref _lastLog, time.GetTimestamp());
        var (rate, eta) = Pace(progress);
        LogProgress(logger, 100.0 * Ratio(progress), progress.CandlesDone, progress.CandlesTotal, rate, eta);
    }

    /// <summary>Draws the bar until <paramref name="run"/> ends.</summary>
    public Task ShowBarAsync(Task run) =>
        ProgressBar.ShowAsync("copy", run, () => Volatile.Read(ref _latest) is { } p
            ? (Ratio(p), $"copy {p.Series?.ToString() ?? ""} {p.CandlesDone:N0}/{p.CandlesTotal:N0} candles, {Pace(p).Rate:0} candles/s")
            : null, time, fillAtEnd: false);

    private static double Ratio(CopyProgress p) =>
        p.CandlesTotal > 0 ? (double)p.CandlesDone / p.CandlesTotal : p.BlocksTotal > 0 ? (double)p.BlocksDone / p.BlocksTotal : 1;

    private (double Rate, double EtaSeconds) Pace(CopyProgress p)
    {
        var seconds = time.GetElapsedTime(_started).TotalSeconds;
        var rate = seconds > 0 ? p.CandlesDone / seconds : 0;
        return (rate, rate > 0 ? (p.CandlesTotal - p.CandlesDone) / rate : 0);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "copy {Percent:0.0}%: {Done} of {Total} candles, {Rate:0} candles/s, ETA {Eta:0} s")]
    private static partial void LogProgress(ILogger logger, double percent, long done, long total, double rate, double eta);
}
