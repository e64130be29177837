using System.Globalization;
using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Storage.Sqlite;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Xunit.Abstractions;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Reliability;

/// <summary>
/// The filesystem under the database turns read-only while the daemon writes, as ext4 does on a disk
/// error (errors=remount-ro). A real ext4 image on a loop device, forced read-only through the
/// kernel's own error path (/sys/fs/ext4/DEV/trigger_fs_error), so this needs root, as CI has.
/// The daemon must stop with a clear error and exit 74, the file must check clean after the operator's
/// fsck, and a restart on the repaired filesystem must finish the backfill exactly.
/// </summary>
public sealed class ReadOnlyDiskTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _work = Directory.CreateTempSubdirectory("bps-ro-").FullName;
    private string Image => Path.Combine(_work, "disk.img");
    private string Mount => Path.Combine(_work, "mnt");
    private FakeUpbitExchange _exchange = null!;

    public async Task InitializeAsync()
    {
        Assert.True(Environment.UserName == "root", "this test mounts a loop device and needs root (CI runs as root)");
        _exchange = await FakeUpbitExchange.StartAsync(new FakeExchangeOptions { RateLimit = RateLimitMode.None });
        Directory.CreateDirectory(Mount);
        await using (var image = File.Create(Image)) image.SetLength(64L << 20);
        await Commands.RunCheckedAsync("mkfs.ext4", "-q", "-F", Image);
        await MountAsync();
    }

    public async Task DisposeAsync()
    {
        await _exchange.DisposeAsync();
        await Commands.RunAsync("umount", [Mount]);
        Directory.Delete(_work, recursive: true);
    }

    private Task MountAsync() => Commands.RunCheckedAsync("mount", "-o", "loop,errors=remount-ro", Image, Mount);

    [SystemFact("mkfs.ext4", "e2fsck", Root = true)]
    public async Task A_filesystem_turning_read_only_stops_the_daemon_clearly_and_a_restart_after_fsck_resumes_exactly()
    {
        var db = Path.Combine(Mount, "candles.db");
        var series = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(1));
        var since = DateTimeOffset.UtcNow.AddDays(-30);
        var sinceText = since.UtcDateTime.ToString("o", CultureInfo.InvariantCulture);
        var port = ScraperProcess.FreePort();

        double stored;
        using (var daemon = DaemonHarness.Start(_exchange, db, port, "KRW-BTC", sinceText))
        {
            await daemon.WaitForHealthyAsync(port, TimeSpan.FromSeconds(20));
            var metrics = await DaemonHarness.WaitForMetricsAsync(daemon, port, m => StoredBtc(m) >= 2000, TimeSpan.FromSeconds(60), "store 2,000 candles");
            stored = StoredBtc(metrics);
            output.WriteLine($"{stored} candles stored (committed) when the file system turned read-only");

            var device = Path.GetFileName((await Commands.RunAsync("findmnt", ["-n", "-o", "SOURCE", Mount])).Output.Trim());
            await File.WriteAllTextAsync($"/sys/fs/ext4/{device}/trigger_fs_error", "1");

            var code = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30));
            output.WriteLine("what the operator reads: " + LastLine(daemon.Stderr));
            Assert.True(code == 74, $"exit {code}: {daemon.Stderr}");
            Assert.Contains(db, daemon.Stderr, StringComparison.Ordinal);
            Assert.Contains("the file system is read-only", daemon.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", daemon.Stderr, StringComparison.Ordinal);
        }

        // What an operator does: unmount, repair, mount again.
        await Commands.RunCheckedAsync("umount", Mount);
        var fsck = await Commands.RunAsync("e2fsck", ["-f", "-y", Image]);
        Assert.True(fsck.Code is 0 or 1, $"e2fsck exit {fsck.Code}: {fsck.Output}");
        await MountAsync();
        using (var store = SqliteCandleStore.Open(db, TimeProvider.System, readOnly: true))
        {
            Assert.Equal("ok", store.IntegrityCheck());
            // A commit is durable: every candle reported stored before the disk failed is still there.
            var kept = store.CountCandles(series);
            output.WriteLine($"{kept} candles on disk after e2fsck");
            Assert.True(kept >= stored, $"{kept} candles on disk, {stored} were reported stored");
        }

        var resumed = await ScraperProcess.RunAsync(
            ["backfill", "--upbit-url", _exchange.BaseUrl.ToString().TrimEnd('/'), "--db", db, "--rate", "100", "--since", sinceText],
            TimeSpan.FromMinutes(2));
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        DaemonIntegrationTests.AssertStoredExactly(_exchange, db, series, since, WindowPlanner.CoverableEnd(series, DateTimeOffset.UtcNow) - series.Unit.Interval);
    }

    private static string LastLine(string text) => text.Trim().Split('\n')[^1];

    private static double StoredBtc(string metrics) => DaemonHarness.Sum(metrics, "scraper_candles_stored_total", "market=\"KRW-BTC\"");
}
