using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Storage.Sqlite;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Xunit.Abstractions;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Reliability;

/// <summary>
/// The disk fills up in the middle of a backfill (a small tmpfs, so this needs root, as CI has):
/// a clear error and a non-zero exit, no corruption, and a restart with space resumes.
/// </summary>
public sealed class DiskFullTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _mount = Directory.CreateTempSubdirectory("bps-full-").FullName;
    private FakeUpbitExchange _exchange = null!;

    public async Task InitializeAsync()
    {
        _exchange = await FakeUpbitExchange.StartAsync(new FakeExchangeOptions { RateLimit = RateLimitMode.None });
        Assert.True(Environment.UserName == "root", "this test mounts a tmpfs and needs root (CI runs as root)");
        await Commands.RunCheckedAsync("mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", _mount);
    }

    public async Task DisposeAsync()
    {
        await _exchange.DisposeAsync();
        await Commands.RunCheckedAsync("umount", _mount);
        Directory.Delete(_mount);
    }

    [SystemFact(Root = true)]
    public async Task A_full_disk_stops_the_backfill_clearly_without_corruption_and_a_restart_with_space_resumes()
    {
        var db = Path.Combine(_mount, "candles.db");
        var since = DateTimeOffset.UtcNow.AddDays(-6);
        string[] args = ["backfill", "--upbit-url", _exchange.BaseUrl.ToString().TrimEnd('/'), "--db", db, "--rate", "100",
            "--since", since.UtcDateTime.ToString("o", System.Globalization.CultureInfo.InvariantCulture)];

        var full = await ScraperProcess.RunAsync(args, TimeSpan.FromMinutes(2));

        Assert.Equal(74, full.ExitCode);
        output.WriteLine("what the operator reads: " + full.Stderr.Trim().Split('\n')[^1]);
        Assert.Contains(db, full.Stderr, StringComparison.Ordinal);
        Assert.Matches("(?i)full|space", full.Stderr);
        using (var store = SqliteCandleStore.Open(db, TimeProvider.System, readOnly: true))
        {
            Assert.Equal("ok", store.IntegrityCheck());
            Assert.True(store.CountCandles(new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(1))) > 0, "nothing was stored before the disk filled");
        }

        await Commands.RunCheckedAsync("mount", "-o", "remount,size=64m", _mount);
        var resumed = await ScraperProcess.RunAsync(args, TimeSpan.FromMinutes(2));

        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        var series = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(1));
        DaemonIntegrationTests.AssertStoredExactly(_exchange, db, series, since, WindowPlanner.CoverableEnd(series, DateTimeOffset.UtcNow) - series.Unit.Interval);
    }
}
