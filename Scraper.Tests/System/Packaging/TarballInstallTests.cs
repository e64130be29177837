using System.Diagnostics;
using System.Globalization;
using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Tests.Integration;

namespace Scraper.Tests.Packaging;

/// <summary>
/// The release tarball as a user gets it: checksum, layout, install.sh into a DESTDIR, and the
/// installed NativeAOT binary backfilling and serving metrics with no .NET anywhere on its PATH.
/// </summary>
[Collection(TarballCollection.Name)]
public sealed class TarballInstallTests(TarballFixture tarball) : FakeExchangeTest
{
    [Fact]
    public async Task The_tarball_verifies_installs_and_its_binary_runs_without_dotnet()
    {
        var name = Path.GetFileName(tarball.Tarball);
        var sums = await Commands.RunAsync("sha256sum", ["-c", name + ".sha256"], Path.GetDirectoryName(tarball.Tarball)!, null);
        Assert.True(sums.Code == 0, sums.Output);

        var unpack = Path.Combine(Dir, "unpack");
        Directory.CreateDirectory(unpack);
        Assert.Equal(0, (await Commands.RunAsync("tar", ["-xzf", tarball.Tarball], unpack, null)).Code);
        var top = Path.Combine(unpack, $"bitcoin-price-scraper-{TarballFixture.Version}");
        foreach (var file in new[]
        {
            "bin/bitcoin-price-scraper", "bin/libe_sqlite3.so", "config.example.json", "systemd/bitcoin-price-scraper.service",
            "prometheus/prometheus.yml", "grafana/dashboards/bitcoin-price-scraper.json", "install.sh", "LICENSE", "README.md",
        })
        {
            Assert.True(File.Exists(Path.Combine(top, file)), $"{file} missing from the tarball");
        }
        Assert.Empty(Directory.GetFiles(top, "*.dbg", SearchOption.AllDirectories));

        var destdir = Path.Combine(Dir, "root");
        var install = await Commands.RunAsync("sh", ["./install.sh"], top, new Dictionary<string, string> { ["DESTDIR"] = destdir });
        Assert.True(install.Code == 0, install.Output);
        var installed = Path.Combine(destdir, "opt", "bitcoin-price-scraper", "bin", "bitcoin-price-scraper");
        Assert.True(File.Exists(installed), install.Output);
        Assert.True(File.Exists(Path.Combine(destdir, "etc", "bitcoin-price-scraper", "config.json")));

        // No dotnet reachable: an empty PATH and no DOTNET_ROOT.
        var noDotnet = new Dictionary<string, string> { ["PATH"] = Path.Combine(Dir, "empty-path"), ["DOTNET_ROOT"] = "", ["HOME"] = Dir };
        var version = await Commands.RunAsync(installed, ["--version"], Dir, noDotnet);
        Assert.Equal(0, version.Code);
        Assert.Equal(TarballFixture.Version, version.Output.Trim());

        var since = DateTimeOffset.UtcNow.AddHours(-8);
        var db = Path.Combine(Dir, "installed.db");
        var backfill = await Commands.RunAsync(installed,
            ["backfill", "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", db, "--markets", "KRW-BTC", "--since", since.UtcDateTime.ToString("o", CultureInfo.InvariantCulture)],
            Dir, noDotnet);
        Assert.True(backfill.Code == 0, backfill.Output);
        var series = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(1));
        DaemonIntegrationTests.AssertStoredExactly(Exchange, db, series, since, WindowPlanner.CoverableEnd(series, DateTimeOffset.UtcNow) - series.Unit.Interval);

        var port = ScraperProcess.FreePort();
        using var daemon = ScraperProcess.Start(
            ["run", "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", db, "--listen", $"127.0.0.1:{port}", "--since", "1h"],
            noDotnet, Dir, installed);
        var started = Stopwatch.StartNew();
        await daemon.WaitForHealthyAsync(port, TimeSpan.FromSeconds(10));
        var ready = started.Elapsed;
        var metrics = await DaemonHarness.ScrapeAsync(port);
        Assert.Contains("upbit_quotation_request_new_total{group=\"candles\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("scraper_build_info{version=\"" + TarballFixture.Version + "\"} 1", metrics, StringComparison.Ordinal);
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));
        Assert.True(ready < TimeSpan.FromSeconds(2), $"the installed daemon took {ready} to serve /healthz");
    }
}
