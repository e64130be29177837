using System.Runtime.Versioning;

namespace Scraper.Tests.Ops;

/// <summary>packaging/make-tarball.sh on a fake publish folder.</summary>
[SupportedOSPlatform("linux")]
public sealed class MakeTarballTests : IDisposable
{
    private const string Version = "1.2.3";
    private const string Top = "bitcoin-price-scraper-1.2.3";
    private const string Tarball = "bitcoin-price-scraper-1.2.3-linux-x64.tar.gz";

    private readonly TempDirectory temp = new();
    private readonly string publish;

    public MakeTarballTests()
    {
        publish = temp.Combine("publish");
        Directory.CreateDirectory(publish);
        FakeRelease.WriteExecutable(Path.Combine(publish, "bitcoin-price-scraper"), "#!/bin/sh\necho dummy daemon\n");
        File.WriteAllText(Path.Combine(publish, "libe_sqlite3.so"), "library\n");
        File.WriteAllText(Path.Combine(publish, "bitcoin-price-scraper.dbg"), "debug symbols stay out\n");
    }

    public void Dispose() => temp.Dispose();

    private async Task<ToolResult> MakeAsync(string output, string? publishDir = null)
    {
        var environment = new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = "1700000000" };
        return await ToolRunner.RunAsync(
            "sh", [RepoPaths.Combine("packaging", "make-tarball.sh"), publishDir ?? publish, Version, output], environment: environment);
    }

    private async Task<string> MakeSucceedsAsync(string output)
    {
        var result = await MakeAsync(output);
        Assert.True(result.ExitCode == 0, result.ToString());
        return Path.Combine(output, Tarball);
    }

    [Fact]
    public async Task Tarball_HasTheReleaseLayoutUnderOneTopFolder()
    {
        var tarball = await MakeSucceedsAsync(temp.Combine("out"));

        var listing = await ToolRunner.RunAsync("tar", "-tzf", tarball);
        Assert.True(listing.ExitCode == 0, listing.ToString());
        var entries = listing.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(e => e.TrimEnd('/')).ToList();
        Assert.All(entries, entry => Assert.True(entry == Top || entry.StartsWith(Top + "/", StringComparison.Ordinal), entry));
        string[] expected =
        [
            "bin/bitcoin-price-scraper", "bin/libe_sqlite3.so", "config.example.json", "install.sh",
            "systemd/bitcoin-price-scraper.service", "prometheus/prometheus.yml",
            "prometheus/rules/bitcoin-price-scraper.rules.yml", "grafana/dashboards/bitcoin-price-scraper.json",
            "grafana/provisioning/datasources/prometheus.yml", "grafana/provisioning/dashboards/bitcoin-price-scraper.yml",
        ];
        Assert.All(expected, file => Assert.Contains($"{Top}/{file}", entries));
        Assert.DoesNotContain(entries, e => e.EndsWith(".dbg", StringComparison.Ordinal));
        foreach (var doc in new[] { "README.md", "LICENSE" })
        {
            Assert.Equal(File.Exists(RepoPaths.Combine(doc)), entries.Contains($"{Top}/{doc}"));
        }

        var verbose = await ToolRunner.RunAsync("tar", "-tvzf", tarball);
        Assert.Contains(verbose.StdOut.Split('\n'), line => line.StartsWith("-rwxr-xr-x", StringComparison.Ordinal) && line.EndsWith($"{Top}/bin/bitcoin-price-scraper", StringComparison.Ordinal));
        Assert.Contains(verbose.StdOut.Split('\n'), line => line.StartsWith("-rwxr-xr-x", StringComparison.Ordinal) && line.EndsWith($"{Top}/install.sh", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Checksum_IsAcceptedBySha256sum_AndRejectsATamperedTarball()
    {
        var output = temp.Combine("out");
        var tarball = await MakeSucceedsAsync(output);

        var check = await ToolRunner.RunAsync("sha256sum", ["-c", Tarball + ".sha256"], output);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains($"{Tarball}: OK", check.StdOut, StringComparison.Ordinal);

        await using (var stream = File.OpenWrite(tarball))
        {
            stream.Seek(0, SeekOrigin.End);
            stream.WriteByte(0);
        }

        var tampered = await ToolRunner.RunAsync("sha256sum", ["-c", Tarball + ".sha256"], output);
        Assert.NotEqual(0, tampered.ExitCode);
    }

    [Fact]
    public async Task Tarball_IsReproducible()
    {
        var first = await MakeSucceedsAsync(temp.Combine("first"));
        var second = await MakeSucceedsAsync(temp.Combine("second"));

        Assert.Equal(await File.ReadAllBytesAsync(first), await File.ReadAllBytesAsync(second));
    }

    [Fact]
    public async Task UnpackedTarball_InstallsWithItsOwnInstallScript()
    {
        var tarball = await MakeSucceedsAsync(temp.Combine("out"));
        var unpacked = temp.Combine("unpacked");
        Directory.CreateDirectory(unpacked);
        var extract = await ToolRunner.RunAsync("tar", "-xzf", tarball, "-C", unpacked);
        Assert.True(extract.ExitCode == 0, extract.ToString());
        var root = temp.Combine("root");

        var install = await ToolRunner.RunAsync(
            "sh", [Path.Combine(unpacked, Top, "install.sh")], unpacked, new Dictionary<string, string?> { ["DESTDIR"] = root });

        Assert.True(install.ExitCode == 0, install.ToString());
        Assert.True(File.Exists(Path.Combine(root, "opt", "bitcoin-price-scraper", "bin", "bitcoin-price-scraper")));
        Assert.True(File.Exists(Path.Combine(root, "etc", "bitcoin-price-scraper", "config.json")));
    }

    [Fact]
    public async Task MissingBinary_FailsWithoutWritingATarball()
    {
        var empty = temp.Combine("empty");
        Directory.CreateDirectory(empty);
        var output = temp.Combine("out");

        var result = await MakeAsync(output, empty);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("bitcoin-price-scraper", result.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(output, Tarball)));
    }
}
