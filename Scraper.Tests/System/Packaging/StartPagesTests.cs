using System.Globalization;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Xunit.Abstractions;

namespace Scraper.Tests.Packaging;

/// <summary>
/// Once its start is over, the released NativeAOT daemon hands the executable's read-only pages back
/// to the kernel: while it follows, only the code and data it uses from then on are resident again.
/// Its own copy of the tarball's binary, so that no other process maps the same file.
/// </summary>
[Collection(TarballCollection.Name)]
public sealed class StartPagesTests(TarballFixture tarball, ITestOutputHelper output) : FakeExchangeTest(new FakeExchangeOptions { Markets = ["KRW-L001"] })
{
    [Fact]
    public async Task Once_following_the_executable_holds_only_the_pages_it_uses_from_then_on()
    {
        var top = $"bitcoin-price-scraper-{TarballFixture.Version}";
        Assert.Equal(0, (await Commands.RunAsync("tar", ["-xzf", tarball.Tarball, top + "/bin"], Dir, null)).Code);
        var executable = Path.Combine(Dir, top, "bin", "bitcoin-price-scraper");
        var port = ScraperProcess.FreePort();
        using var daemon = ScraperProcess.Start(
            ["run", "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Db, "--listen", $"127.0.0.1:{port}", "--markets", "KRW-L001", "--units", "1", "--since", "30m"],
            null, Dir, executable);
        await DaemonHarness.WaitForFollowingAsync(daemon, port, ["KRW-L001"], TimeSpan.FromSeconds(60));
        await DaemonHarness.WaitForMetricsAsync(daemon, port, x => DaemonHarness.Sample(x, "scraper_stream_connections") == 1, TimeSpan.FromSeconds(30), "connect the stream");
        await Task.Delay(TimeSpan.FromSeconds(3));

        var (size, resident) = ReadOnlyPages(daemon.Pid, executable);
        var line = daemon.Stderr.Split('\n').FirstOrDefault(l => l.Contains("start over:", StringComparison.Ordinal));
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));

        output.WriteLine($"{line?.Trim()}; read-only pages of the executable resident while following: {resident / 1024.0:0.0} of {size / 1024.0:0.0} MiB");
        Assert.NotNull(line);
        // Without the release nearly all of it stays resident after the start (the kernel maps file
        // pages in blocks around each one touched).
        Assert.True(resident < size / 2, $"{resident} of {size} KiB of the executable's read-only pages resident while following");
    }

    /// <summary>Size and resident KiB of the read-only mappings of <paramref name="path"/> in /proc/PID/smaps.</summary>
    private static (long Size, long Resident) ReadOnlyPages(int pid, string path)
    {
        long size = 0, resident = 0;
        var counting = false;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 2 && fields[0].Contains('-', StringComparison.Ordinal) && fields[1].Length == 4)
                counting = fields.Length == 6 && fields[5].Trim() == path && !fields[1].Contains('w', StringComparison.Ordinal);
            else if (counting && fields[0] == "Size:") size += long.Parse(fields[1], CultureInfo.InvariantCulture);
            else if (counting && fields[0] == "Rss:") resident += long.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        return (size, resident);
    }
}
