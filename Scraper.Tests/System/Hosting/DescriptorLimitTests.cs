using System.Globalization;
using Scraper.Tests.Integration;

namespace Scraper.Tests.Hosting;

/// <summary>The daemon raises a low open-file soft limit to the hard limit, and says so once.</summary>
public sealed class DescriptorLimitTests : FakeExchangeTest
{
    private static (long Soft, long Hard) OpenFiles(int pid)
    {
        var fields = File.ReadAllLines($"/proc/{pid}/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(fields[3], CultureInfo.InvariantCulture), long.Parse(fields[4], CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_low_soft_limit_is_raised_to_the_hard_limit_at_start()
    {
        var hard = OpenFiles(Environment.ProcessId).Hard;
        Assert.True(hard > 512, $"this machine's hard limit is {hard}: nothing to raise");
        var port = ScraperProcess.FreePort();
        string[] args =
        [
            "-c", "ulimit -S -n 512 && exec \"$0\" \"$@\"", ScraperProcess.BinaryPath,
            "run", "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Db, "--listen", $"127.0.0.1:{port}",
            "--markets", "KRW-BTC", "--since", "10m",
        ];
        using var daemon = ScraperProcess.Start(args, binary: "/bin/sh");
        await DaemonHarness.WaitForFollowingAsync(daemon, port, ["KRW-BTC"], TimeSpan.FromSeconds(30));

        var limits = OpenFiles(daemon.Pid);
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));

        Assert.Equal((Math.Min(hard, 1_048_576), hard), limits);
        // The JIT runtime raises the limit itself before Main (no line then); NativeAOT does not.
        var said = daemon.Stderr.Split('\n').Where(l => l.Contains("open-file limit", StringComparison.Ordinal)).ToList();
        Assert.True(said.Count <= 1, string.Join('\n', said));
        Assert.All(said, l => Assert.Contains($"open-file limit raised from 512 to {Math.Min(hard, 1_048_576)}", l, StringComparison.Ordinal));
    }
}
