using System.Diagnostics;
using System.Globalization;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Xunit.Abstractions;

namespace Scraper.Tests.Benchmarks;

/// <summary>Runs only when BITCOIN_PRICE_SCRAPER_MEMPROBE=1: a few minutes, not a benchmark.</summary>
public sealed class MemoryProbeFactAttribute : FactAttribute
{
    /// <summary>Skips unless asked for.</summary>
    public MemoryProbeFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_MEMPROBE") != "1") Skip = "memory probe: set BITCOIN_PRICE_SCRAPER_MEMPROBE=1";
    }
}

/// <summary>
/// A quick, repeatable measurement of the daemon's memory while it follows 400 markets × units 1,
/// 3, 5, 15 over the fake's stream, as <see cref="LiveBenchmark"/> does, but with a start-up at 100
/// requests/s: the binaries in BITCOIN_PRICE_SCRAPER_MEMPROBE_BINS (colon-separated) run
/// alternately, BITCOIN_PRICE_SCRAPER_MEMPROBE_ROUNDS times, and /proc/PID/status and smaps_rollup
/// are sampled every 5 s for a minute once following is steady.
/// </summary>
public sealed class LiveMemoryProbe(ITestOutputHelper output)
{
    private static readonly string[] Followed = [.. Enumerable.Range(1, 400).Select(i => $"KRW-L{i:000}")];

    [MemoryProbeFact]
    public async Task Memory_while_following_400_markets_at_4_units()
    {
        var binaries = (Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_MEMPROBE_BINS") ?? ScraperProcess.BinaryPath).Split(':');
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_MEMPROBE_ROUNDS"), out var r) ? r : 1;
        var dir = Directory.CreateTempSubdirectory("bps-memprobe-").FullName;
        for (var round = 0; round < rounds; round++)
        {
            foreach (var binary in binaries)
                output.WriteLine($"{binary}: {await ProbeAsync(binary, Path.Combine(dir, $"live-{round}-{Array.IndexOf(binaries, binary)}.db"))}");
        }
        Directory.Delete(dir, recursive: true);
    }

    private static async Task<string> ProbeAsync(string binary, string db)
    {
        await using var exchange = await FakeUpbitExchange.StartAsync(new FakeExchangeOptions { Markets = Followed, Latency = TimeSpan.FromMilliseconds(30), CandleRequestsPerSecond = 100 });
        var port = ScraperProcess.FreePort();
        var started = Stopwatch.StartNew();
        using var daemon = ScraperProcess.Start(
            ["run", "--upbit-url", exchange.BaseUrl.ToString().TrimEnd('/'), "--db", db, "--listen", $"127.0.0.1:{port}", "--markets", string.Join(',', Followed),
             "--units", "1,3,5,15", "--since", "10m", "--rate", "100", "--log-level", "Warning"], binary: binary);
        await DaemonHarness.WaitForMetricsAsync(daemon, port, x => x.Split('\n').Count(l => l.StartsWith("scraper_following{", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal)) >= 1600,
            TimeSpan.FromMinutes(4), "follow every series", TimeSpan.FromSeconds(1));
        var startup = started.Elapsed.TotalSeconds;
        await Task.Delay(TimeSpan.FromSeconds(20));
        var samples = new List<Dictionary<string, long>>();
        for (var i = 0; i < 12; i++)
        {
            samples.Add(Read(daemon.Pid));
            await Task.Delay(TimeSpan.FromSeconds(5));
        }
        var metrics = await DaemonHarness.ScrapeAsync(port);
        var series = metrics.Split('\n').Count(l => l.Length > 0 && l[0] != '#');
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));
        string Median(string key) => (samples.Select(s => s.GetValueOrDefault(key)).Order().ElementAt(samples.Count / 2) / 1024.0).ToString("0.0", CultureInfo.InvariantCulture);
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        return $"start {startup:0} s; MiB median of 12: VmRSS {Median("VmRSS")} RssAnon {Median("RssAnon")} RssFile {Median("RssFile")} Private_Dirty {Median("Private_Dirty")}; "
            + $"VmHWM {samples[^1]["VmHWM"] / 1024.0:0.0}; exposition {metrics.Length / 1024.0:0} KiB, {series} samples; load {load}";
    }

    /// <summary>kB fields of /proc/PID/status and smaps_rollup.</summary>
    private static Dictionary<string, long> Read(int pid)
    {
        var values = new Dictionary<string, long>();
        foreach (var line in File.ReadLines($"/proc/{pid}/status").Concat(File.ReadLines($"/proc/{pid}/smaps_rollup")))
        {
            var colon = line.IndexOf(':');
            if (colon < 0 || !line.EndsWith(" kB", StringComparison.Ordinal)) continue;
            values[line[..colon]] = long.Parse(line[(colon + 1)..^3].Trim(), CultureInfo.InvariantCulture);
        }
        return values;
    }
}
