using Scraper.Tests.Integration;

namespace Scraper.Tests.Reliability;

/// <summary>An exchange that refuses every connection fills the log with a few lines, not one per window.</summary>
public sealed class UnreachableExchangeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Every_window_skipped_logs_one_line_and_the_stop_sums_them_up()
    {
        var unreachable = ScraperProcess.FreePort(); // nothing listens there: every request is refused at once
        var port = ScraperProcess.FreePort();
        using var daemon = ScraperProcess.Start(
        [
            "run", "--upbit-url", $"http://127.0.0.1:{unreachable}", "--db", _dir.Combine("candles.db"), "--listen", $"127.0.0.1:{port}",
            "--markets", "KRW-BTC", "--since", "2d",
        ]);
        await daemon.WaitForHealthyAsync(port, TimeSpan.FromSeconds(20));
        // Two days are 15 windows of 200 minutes; each is skipped after its eight attempts (about 32 s of back-off).
        await DaemonHarness.WaitForMetricsAsync(daemon, port,
            m => DaemonHarness.Sample(m, "scraper_backfill_windows_skipped_total{market=\"KRW-BTC\",unit=\"1\"}") >= 15,
            TimeSpan.FromSeconds(90), "skip the whole first pass");
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));

        var lines = daemon.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var skipLines = lines.Where(l => l.Contains("skipped", StringComparison.Ordinal) && !l.Contains("backfill pass done", StringComparison.Ordinal)).ToList();
        Assert.True(skipLines.Count == 2, $"{skipLines.Count} lines about skipped windows:\n{string.Join("\n", skipLines.Take(5))}");
        Assert.Contains("windows skipped (gave up after retries): 15 in all over", skipLines[1], StringComparison.Ordinal);
        // Lines that count time, not windows, are left out: progress every 10 s, and the stream's tries to
        // connect between the end of the pass and the stop (a busy machine's slower back-off adds some).
        var timed = new[] { "CandleCollector: backfill 0.0%", "LiveFollower: stream connection" };
        var perWindow = lines.Where(l => !timed.Any(t => l.Contains(t, StringComparison.Ordinal))).ToList();
        Assert.True(perWindow.Count <= 17, $"{perWindow.Count} log lines besides progress and stream retries:\n{daemon.Stderr}");
    }
}
