using System.Runtime.Versioning;

namespace Scraper.Tests.Ops;

/// <summary>packaging/install.sh, run with sh into a temporary DESTDIR.</summary>
[SupportedOSPlatform("linux")]
public sealed class InstallScriptTests : IDisposable
{
    private const string Name = "bitcoin-price-scraper";

    private readonly TempDirectory temp = new();
    private readonly string release;
    private readonly string root;
    private readonly string fakeBin;

    public InstallScriptTests()
    {
        release = FakeRelease.Create(temp.Combine("release"));
        root = temp.Combine("root");
        // A systemctl that only leaves a trace: a staged install must never call the real one.
        fakeBin = temp.Combine("fakebin");
        Directory.CreateDirectory(fakeBin);
        FakeRelease.WriteExecutable(Path.Combine(fakeBin, "systemctl"), $"#!/bin/sh\necho \"$@\" >> {temp.Combine("systemctl-calls")}\n");
    }

    public void Dispose() => temp.Dispose();

    private string Staged(params string[] parts) => Path.Combine([root, .. parts]);

    private async Task<ToolResult> InstallAsync(string? prefix = null, params string[] arguments)
    {
        var environment = new Dictionary<string, string?>
        {
            ["DESTDIR"] = root,
            ["PREFIX"] = prefix,
            ["PATH"] = $"{fakeBin}:{Environment.GetEnvironmentVariable("PATH")}",
        };
        var result = await ToolRunner.RunAsync("sh", [Path.Combine(release, "install.sh"), .. arguments], release, environment);
        return result;
    }

    private async Task InstallSucceedsAsync(string? prefix = null, params string[] arguments)
    {
        var result = await InstallAsync(prefix, arguments);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    private List<string> StagedFiles() =>
        Directory.Exists(root)
            ? Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories)
                .Select(path => Path.GetRelativePath(root, path)).Order(StringComparer.Ordinal).ToList()
            : [];

    [Fact]
    public async Task Install_IntoDestdir_LaysOutProgramConfigAndUnit()
    {
        await InstallSucceedsAsync();

        var opt = Staged("opt", Name);
        Assert.Equal(FakeRelease.Executable, File.GetUnixFileMode(Path.Combine(opt, "bin", Name)));
        Assert.True(File.Exists(Path.Combine(opt, "bin", "libe_sqlite3.so")));
        Assert.True(File.Exists(Path.Combine(opt, "share", "prometheus", "prometheus.yml")));
        Assert.True(File.Exists(Path.Combine(opt, "share", "prometheus", "rules", "bitcoin-price-scraper.rules.yml")));
        Assert.True(File.Exists(Path.Combine(opt, "share", "grafana", "dashboards", "bitcoin-price-scraper.json")));
        Assert.True(File.Exists(Path.Combine(opt, "share", "grafana", "provisioning", "datasources", "prometheus.yml")));
        Assert.True(File.Exists(Path.Combine(opt, "share", "doc", Name, "README.md")));

        var config = Staged("etc", Name, "config.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(config));
        Assert.Equal(File.ReadAllText(Path.Combine(release, "config.example.json")), File.ReadAllText(config));
        Assert.True(File.Exists(Staged("etc", Name, "config.example.json")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Staged("etc", Name, "credentials")));

        var unit = File.ReadAllText(Staged("etc", "systemd", "system", Name + ".service"));
        Assert.Equal(File.ReadAllText(Path.Combine(release, "systemd", Name + ".service")), unit);
        Assert.False(File.Exists(temp.Combine("systemctl-calls")), "a DESTDIR install called systemctl");
    }

    [Fact]
    public async Task Install_InstalledPrometheusConfig_PassesPromtool()
    {
        await InstallSucceedsAsync();

        var result = await ToolRunner.RunAsync(
            "promtool", ["check", "config", Staged("opt", Name, "share", "prometheus", "prometheus.yml")], workingDirectory: "/");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("SUCCESS: 3 rule files found", result.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Install_Twice_KeepsTheConfigAndRefreshesTheExample()
    {
        await InstallSucceedsAsync();
        var layout = StagedFiles();
        var config = Staged("etc", Name, "config.json");
        var example = Staged("etc", Name, "config.example.json");
        File.WriteAllText(config, "{ \"Markets\": \"KRW-ETH\" }\n");
        File.WriteAllText(example, "stale\n");

        await InstallSucceedsAsync();

        Assert.Equal("{ \"Markets\": \"KRW-ETH\" }\n", File.ReadAllText(config));
        Assert.Equal(File.ReadAllText(Path.Combine(release, "config.example.json")), File.ReadAllText(example));
        Assert.Equal(layout, StagedFiles());
    }

    [Fact]
    public async Task Install_WithCustomPrefix_PointsExecStartAndDashboardsThere()
    {
        await InstallSucceedsAsync("/usr/local/lib/bps");

        Assert.True(File.Exists(Staged("usr", "local", "lib", "bps", "bin", Name)));
        Assert.False(Directory.Exists(Staged("opt")));
        var unit = File.ReadAllLines(Staged("etc", "systemd", "system", Name + ".service"));
        Assert.Contains("ExecStart=/usr/local/lib/bps/bin/bitcoin-price-scraper run --config /etc/bitcoin-price-scraper/config.json", unit);
        Assert.DoesNotContain(unit, line => line.StartsWith("ExecStart=/opt/", StringComparison.Ordinal));
        var provider = File.ReadAllText(Staged("usr", "local", "lib", "bps", "share", "grafana", "provisioning", "dashboards", Name + ".yml"));
        Assert.Contains("path: /usr/local/lib/bps/share/grafana/dashboards", provider, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Uninstall_RemovesProgramAndUnit_KeepsConfigAndData()
    {
        await InstallSucceedsAsync();
        var data = CreateDatabase();
        File.WriteAllText(Staged("etc", Name, "credentials", "upbit-access-key"), "key\n");

        await InstallSucceedsAsync(null, "--uninstall");

        Assert.False(Directory.Exists(Staged("opt", Name)), string.Join('\n', StagedFiles()));
        Assert.False(File.Exists(Staged("etc", "systemd", "system", Name + ".service")));
        Assert.True(File.Exists(Staged("etc", Name, "config.json")));
        Assert.True(File.Exists(Staged("etc", Name, "credentials", "upbit-access-key")));
        Assert.True(File.Exists(data));
    }

    [Fact]
    public async Task UninstallPurge_AlsoRemovesConfigAndData()
    {
        await InstallSucceedsAsync();
        CreateDatabase();

        await InstallSucceedsAsync(null, "--uninstall", "--purge");

        Assert.False(Directory.Exists(Staged("etc", Name)));
        Assert.False(Directory.Exists(Staged("var", "lib", "private", Name)));
        Assert.False(Path.Exists(Staged("var", "lib", Name)));
        Assert.False(Directory.Exists(Staged("opt", Name)));
    }

    [Fact]
    public async Task Uninstall_LeavesOtherFilesInASharedPrefix()
    {
        Directory.CreateDirectory(Staged("usr", "local", "share", "prometheus"));
        File.WriteAllText(Staged("usr", "local", "share", "prometheus", "other.yml"), "someone else's\n");
        await InstallSucceedsAsync("/usr/local");

        await InstallSucceedsAsync("/usr/local", "--uninstall");

        Assert.True(File.Exists(Staged("usr", "local", "share", "prometheus", "other.yml")));
        Assert.False(File.Exists(Staged("usr", "local", "bin", Name)));
        Assert.False(Directory.Exists(Staged("usr", "local", "share", "grafana")));
    }

    [Fact]
    public async Task Install_AsNonRootWithoutDestdir_RefusesWithOneLine()
    {
        var result = await RunAsNobodyAsync(Path.Combine(release, "install.sh"));

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("root", line, StringComparison.Ordinal);
        Assert.Equal("", result.StdOut);
    }

    [Fact]
    public async Task Help_WorksWithoutRoot()
    {
        var result = await RunAsNobodyAsync(Path.Combine(release, "install.sh"), "--help");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("--uninstall", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("--purge", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("PREFIX", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("DESTDIR", result.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--purge")]
    public async Task Install_WithWrongArguments_FailsWithoutInstalling(string argument)
    {
        var result = await InstallAsync(null, argument);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Empty(StagedFiles());
    }

    private string CreateDatabase()
    {
        // As systemd lays it out for DynamicUser=yes: the data in private/, a symlink beside it.
        var data = Staged("var", "lib", "private", Name);
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "candles.db"), "sqlite\n");
        File.CreateSymbolicLink(Staged("var", "lib", Name), Path.Combine("private", Name));
        return Path.Combine(data, "candles.db");
    }

    /// <summary>Runs the script as nobody (as root via setpriv; as is when the tests are not root).</summary>
    private async Task<ToolResult> RunAsNobodyAsync(params string[] arguments)
    {
        var environment = new Dictionary<string, string?> { ["DESTDIR"] = null, ["PREFIX"] = null };
        return Environment.IsPrivilegedProcess
            ? await ToolRunner.RunAsync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "sh", .. arguments], release, environment)
            : await ToolRunner.RunAsync("sh", arguments, release, environment);
    }
}
