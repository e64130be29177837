using System.Diagnostics;
using Scraper.Tests.Integration;

namespace Scraper.Tests.Packaging;

/// <summary>
/// Builds the release tarball once per test run with `./build.sh package` (NativeAOT publish, a few
/// minutes), takes the one BITCOIN_PRICE_SCRAPER_TARBALL names, or waits for the one `./build.sh test`
/// is building beside the tests (BITCOIN_PRICE_SCRAPER_PACKAGING: the folder where that build
/// writes its log and, when it ends, its exit code).
/// </summary>
public sealed class TarballFixture : IAsyncLifetime
{
    /// <summary>The product version, from Directory.Build.props.</summary>
    public static string Version =>
        System.Text.RegularExpressions.Regex.Match(File.ReadAllText(Path.Combine(Commands.RepoRoot, "Directory.Build.props")), "<Version>(.*?)</Version>").Groups[1].Value;

    /// <summary>Where `./build.sh package` writes the .tar.gz.</summary>
    private static string Built => Path.Combine(Commands.RepoRoot, "dist", $"bitcoin-price-scraper-{Version}-linux-x64.tar.gz");

    /// <summary>Path of the .tar.gz.</summary>
    public string Tarball { get; private set; } = "";

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_TARBALL") is { Length: > 0 } given)
        {
            Tarball = given;
            return;
        }
        if (Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_PACKAGING") is { Length: > 0 } building)
        {
            Tarball = await WaitForPackageAsync(building);
            return;
        }
        var info = new ProcessStartInfo("bash") { WorkingDirectory = Commands.RepoRoot, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("build.sh");
        info.ArgumentList.Add("package");
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"./build.sh package failed ({p.ExitCode}):\n{await stdout}\n{stderr}");
        Tarball = Built;
    }

    /// <inheritdoc />
    public Task DisposeAsync() => Task.CompletedTask;

    private static async Task<string> WaitForPackageAsync(string folder)
    {
        var status = Path.Combine(folder, "status");
        var waited = Stopwatch.StartNew();
        while (!File.Exists(status))
        {
            if (waited.Elapsed > TimeSpan.FromMinutes(20)) throw new TimeoutException($"./build.sh package beside the tests did not end within 20 minutes; its log: {Path.Combine(folder, "log")}");
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        var code = (await File.ReadAllTextAsync(status)).Trim();
        if (code != "0") throw new InvalidOperationException($"./build.sh package failed ({code}):\n{await File.ReadAllTextAsync(Path.Combine(folder, "log"))}");
        return Built;
    }
}

/// <summary>
/// Tests that share one built tarball. They run alone after the tier's parallel classes: while the
/// fixture builds or waits for the tarball it holds one of the tier's parallel places, so run first
/// it would leave the other tests one place for minutes; run last, the build beside the tests is done.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TarballCollection : ICollectionFixture<TarballFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "tarball";
}
