using System.Diagnostics;
using System.Text.Json;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Xunit.Abstractions;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Packaging;

/// <summary>
/// The unit under a real systemd: a minimal Debian (debootstrap minbase: no .NET, no ICU) booted
/// with systemd-nspawn, the tarball installed inside with DESTDIR, the service started, watched in
/// the journal, stopped, and broken. The container shares the host's network, so the daemon
/// reaches the fake exchange on 127.0.0.1 and the test scrapes it there. Needs root (CI is root);
/// BITCOIN_PRICE_SCRAPER_SKIP_NSPAWN=1 reports it Skipped for quick local runs.
/// </summary>
[Collection(TarballCollection.Name)]
public sealed class SystemdServiceTests(TarballFixture tarball, ITestOutputHelper output) : FakeExchangeTest
{
    private const string RootfsCache = "/var/tmp/bitcoin-price-scraper-rootfs";
    private const string Unit = "bitcoin-price-scraper";

    private static Task<(int Code, string Output)> RunAsync(string file, params string[] args) => Commands.RunAsync(file, args);

    private static async Task EnsureRootfsAsync()
    {
        if (File.Exists(Path.Combine(RootfsCache, "usr/lib/systemd/systemd"))) return;
        var mirror = File.ReadLines("/etc/apt/sources.list.d/debian.sources")
            .First(l => l.StartsWith("URIs:", StringComparison.Ordinal))["URIs:".Length..].Trim().Split(' ')[0];
        var staging = RootfsCache + ".tmp";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        var r = await RunAsync("debootstrap", "--variant=minbase", "--include=systemd,systemd-sysv,dbus,libnss-systemd", "bookworm", staging, mirror);
        Assert.True(r.Code == 0, "debootstrap failed: " + r.Output[^Math.Min(2000, r.Output.Length)..]);
        Directory.Move(staging, RootfsCache);
    }

    private sealed class Container(Process nspawn, int init) : IAsyncDisposable
    {
        public async Task<(int Code, string Output)> ExecAsync(params string[] command) =>
            await RunAsync("nsenter", ["--target", init.ToString(System.Globalization.CultureInfo.InvariantCulture), "--all", "--", .. command]);

        public async ValueTask DisposeAsync()
        {
            if (!nspawn.HasExited)
            {
                nspawn.Kill(); // SIGKILL to nspawn tears the container down
                await nspawn.WaitForExitAsync();
            }
            nspawn.Dispose();
        }
    }

    private static async Task<Container> BootAsync(string root)
    {
        var info = new ProcessStartInfo("systemd-nspawn") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in new[] { "-D", root, "--boot", "--register=no", "--keep-unit", "--console=passive", $"--machine=bps{Environment.ProcessId}" })
            info.ArgumentList.Add(a);
        info.Environment["SYSTEMD_NSPAWN_UNIFIED_HIERARCHY"] = "1";
        var nspawn = Process.Start(info)!;
        nspawn.BeginOutputReadLine();
        nspawn.BeginErrorReadLine();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.False(nspawn.HasExited, "systemd-nspawn exited");
            var children = Directory.GetDirectories($"/proc/{nspawn.Id}/task")
                .SelectMany(t => File.ReadAllText(Path.Combine(t, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Select(int.Parse).ToList();
            if (children.Count > 0)
            {
                var container = new Container(nspawn, children[0]);
                var state = await container.ExecAsync("/bin/systemctl", "is-system-running");
                if (state.Output.Trim() is "running" or "degraded") return container;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException("the container did not finish booting");
    }

    [SystemFact("systemd-nspawn", "debootstrap", "nsenter", Root = true, SkipVariable = "BITCOIN_PRICE_SCRAPER_SKIP_NSPAWN")]
    public async Task The_unit_starts_after_READY_logs_with_priorities_stops_in_time_and_does_not_loop_on_a_bad_config()
    {
        await EnsureRootfsAsync();
        var root = Path.Combine(Dir, "rootfs");
        Assert.Equal(0, (await RunAsync("cp", "-a", RootfsCache, root)).Code);
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "usr/lib/x86_64-linux-gnu"), "libicu*"));
        Assert.False(File.Exists(Path.Combine(root, "usr/bin/dotnet")));

        Assert.Equal(0, (await RunAsync("tar", "-xzf", tarball.Tarball, "-C", Dir)).Code);
        var unpacked = Path.Combine(Dir, $"bitcoin-price-scraper-{TarballFixture.Version}");
        var install = await RunAsync("env", $"DESTDIR={root}", "sh", Path.Combine(unpacked, "install.sh"));
        Assert.True(install.Code == 0, install.Output);

        var injected = 0;
        Exchange.Options.FaultInjector = r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal) && Interlocked.Increment(ref injected) <= 2 ? FakeFault.Http503 : null;
        var port = ScraperProcess.FreePort();
        var config = Path.Combine(root, "etc/bitcoin-price-scraper/config.json");
        string Config(int rate) => $$"""{ "UpbitUrl": "{{Exchange.BaseUrl.ToString().TrimEnd('/')}}", "Listen": "127.0.0.1:{{port}}", "Markets": "KRW-BTC", "Since": "3h", "Rate": {{rate}} }""";
        await File.WriteAllTextAsync(config, Config(10));

        await using var container = await BootAsync(root);
        Assert.Equal(0, (await container.ExecAsync("/bin/systemctl", "daemon-reload")).Code);
        var start = Stopwatch.StartNew();
        var started = await container.ExecAsync("/bin/systemctl", "start", Unit);
        var startTime = start.Elapsed;
        if (started.Code != 0)
        {
            var journalText = await container.ExecAsync("/bin/journalctl", "-u", Unit, "--no-pager", "-o", "cat");
            Assert.Fail("systemctl start failed: " + started.Output + "\n" + journalText.Output);
        }
        Assert.Equal("active", (await container.ExecAsync("/bin/systemctl", "is-active", Unit)).Output.Trim());
        output.WriteLine($"systemctl start returned after READY=1 in {startTime.TotalMilliseconds:0} ms");

        // The daemon in the container fetched from the host's 127.0.0.1 and serves metrics there.
        await DaemonHarness.WaitForFollowingAsync(null, port, ["KRW-BTC"], TimeSpan.FromSeconds(60));
        var metrics = await DaemonHarness.ScrapeAsync(port);
        Assert.True(DaemonHarness.Sum(metrics, "scraper_candles_stored_total", "market=\"KRW-BTC\"") > 0, metrics);
        Assert.True(File.Exists(Path.Combine(root, "var/lib/private/bitcoin-price-scraper/candles.db")), "the database is not in the StateDirectory");

        await container.ExecAsync("/bin/journalctl", "--sync");
        var journal = await container.ExecAsync("/bin/journalctl", "-u", Unit, "-o", "json", "--no-pager", "_TRANSPORT=stdout");
        var records = journal.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => (Priority: e.GetProperty("PRIORITY").GetString(), Message: e.TryGetProperty("MESSAGE", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : ""))
            .ToList();
        Assert.NotEmpty(records);
        Assert.All(records, r => Assert.False(r.Message.StartsWith('<'), "a priority prefix was not consumed: " + r.Message));
        Assert.Contains(records, r => r.Priority == "6" && r.Message.Contains("backfill", StringComparison.Ordinal));
        Assert.Contains(records, r => r.Priority == "4" && r.Message.Contains("http_503", StringComparison.Ordinal));
        var warnings = await container.ExecAsync("/bin/journalctl", "-u", Unit, "-p", "warning", "--no-pager", "-o", "cat", "_TRANSPORT=stdout");
        Assert.Contains("http_503", warnings.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("backfill pass done", warnings.Output, StringComparison.Ordinal);

        var stop = Stopwatch.StartNew();
        Assert.Equal(0, (await container.ExecAsync("/bin/systemctl", "stop", Unit)).Code);
        Assert.True(stop.Elapsed < TimeSpan.FromSeconds(15), $"stop took {stop.Elapsed}");
        var stopped = (await container.ExecAsync("/bin/systemctl", "show", "-p", "ExecMainStatus,ActiveState,Result", Unit)).Output;
        Assert.Contains("ExecMainStatus=0", stopped, StringComparison.Ordinal);
        Assert.Contains("Result=success", stopped, StringComparison.Ordinal);

        // A configuration error: exit 78, no restart loop.
        await File.WriteAllTextAsync(config, Config(0));
        var bad = await container.ExecAsync("/bin/systemctl", "start", Unit);
        Assert.NotEqual(0, bad.Code);
        await Task.Delay(TimeSpan.FromSeconds(8));
        var failed = (await container.ExecAsync("/bin/systemctl", "show", "-p", "ExecMainStatus,NRestarts,ActiveState", Unit)).Output;
        output.WriteLine(failed);
        Assert.Contains("ExecMainStatus=78", failed, StringComparison.Ordinal);
        Assert.Contains("NRestarts=0", failed, StringComparison.Ordinal);
        Assert.Contains("ActiveState=failed", failed, StringComparison.Ordinal);
        var why = await container.ExecAsync("/bin/journalctl", "-u", Unit, "-p", "err", "--no-pager", "-o", "cat", "_TRANSPORT=stdout");
        Assert.Contains("invalid \"Rate\"", why.Output, StringComparison.Ordinal);
    }
}
