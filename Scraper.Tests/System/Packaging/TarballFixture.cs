using System.Diagnostics;
using Scraper.Tests.Integration;

namespace Scraper.Tests.Packaging;

/// <summary>
/// Builds the release tarball once per test run with `./build.sh package` (NativeAOT publish, about
/// a minute), or takes the one BITCOIN_PRICE_SCRAPER_TARBALL names.
/// </summary>
public sealed class TarballFixture : IAsyncLifetime
{
    /// <summary>The product version, from Directory.Build.props.</summary>
    public static string Version =>
        System.Text.RegularExpressions.Regex.Match(File.ReadAllText(Path.Combine(Commands.RepoRoot, "Directory.Build.props")), "<Version>(.*?)</Version>").Groups[1].Value;

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
        var info = new ProcessStartInfo("bash") { WorkingDirectory = Commands.RepoRoot, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("build.sh");
        info.ArgumentList.Add("package");
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"./build.sh package failed ({p.ExitCode}):\n{await stdout}\n{stderr}");
        Tarball = Path.Combine(Commands.RepoRoot, "dist", $"bitcoin-price-scraper-{Version}-linux-x64.tar.gz");
    }

    /// <inheritdoc />
    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>Tests that share one built tarball.</summary>
[CollectionDefinition(Name)]
public sealed class TarballCollection : ICollectionFixture<TarballFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "tarball";
}
