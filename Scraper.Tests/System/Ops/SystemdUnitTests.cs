using System.Globalization;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Ops;

/// <summary>systemd/bitcoin-price-scraper.service, checked with systemd-analyze.</summary>
[SupportedOSPlatform("linux")]
public sealed partial class SystemdUnitTests
{
    /// <summary>Measured with systemd 252 (Debian 12); a change that loosens the sandbox fails here.</summary>
    private const double MaxExposure = 1.1;

    private const string UnitName = "bitcoin-price-scraper.service";
    private const string Binary = "/opt/bitcoin-price-scraper/bin/bitcoin-price-scraper";

    private static string UnitPath => RepoPaths.Combine("systemd", UnitName);

    /// <summary>
    /// `systemd-analyze verify` also checks that ExecStart's binary exists and is executable,
    /// which it cannot on a build machine. The check runs on a copy whose ExecStart points at an
    /// executable stub (same arguments, same unit name); everything else is verified unchanged.
    /// </summary>
    private static (string UnitCopy, string Stub) CopyWithStubBinary(TempDirectory temp, string unitText)
    {
        var stub = temp.Combine("bitcoin-price-scraper");
        File.WriteAllText(stub, "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(stub, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var copy = temp.Combine(UnitName);
        var rewritten = unitText.Replace($"ExecStart={Binary} ", $"ExecStart={stub} ", StringComparison.Ordinal);
        Assert.NotEqual(unitText, rewritten);
        File.WriteAllText(copy, rewritten);
        return (copy, stub);
    }

    [SystemFact("systemd-analyze")]
    public async Task Verify_ReportsNothing()
    {
        using var temp = new TempDirectory();
        var (copy, _) = CopyWithStubBinary(temp, File.ReadAllText(UnitPath));

        var result = await ToolRunner.RunAsync("systemd-analyze", "verify", copy);

        // verify exits 0 even for unknown keys or bad values ("..., ignoring"): nothing may be printed.
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(result.StdErr.Trim().Length == 0, result.ToString());
    }

    [SystemFact("systemd-analyze")]
    public async Task Verify_OnAUnitWithAMistake_ComplainsOnStderr()
    {
        // Guards the check above: a typo in a directive must be visible to it.
        using var temp = new TempDirectory();
        var broken = File.ReadAllText(UnitPath).Replace("ProtectClock=yes", "ProtectClocks=yes", StringComparison.Ordinal);
        var (copy, _) = CopyWithStubBinary(temp, broken);

        var result = await ToolRunner.RunAsync("systemd-analyze", "verify", copy);

        Assert.Contains("ProtectClocks", result.StdErr, StringComparison.Ordinal);
    }

    [SystemFact("systemd-analyze")]
    public async Task Security_ExposureIsAtMostTheMeasuredScore()
    {
        var result = await ToolRunner.RunAsync("systemd-analyze", "security", "--offline=true", "--no-pager", UnitPath);

        Assert.True(result.ExitCode == 0, result.ToString());
        var match = ExposurePattern().Match(result.StdOut);
        Assert.True(match.Success, result.ToString());
        var exposure = double.Parse(match.Groups["score"].Value, CultureInfo.InvariantCulture);
        Assert.True(exposure <= MaxExposure, $"exposure {exposure} > {MaxExposure}\n{result}");
    }

    [SystemFact("systemd-analyze")]
    public async Task Security_OnlyTheDocumentedChecksFail()
    {
        // The score has one decimal, so losing one small setting can hide in rounding; the list
        // of failed checks cannot. Each of these is explained at the end of the unit file.
        string[] documented =
        [
            "RootDirectory=/RootImage=", "RestrictAddressFamilies=~AF_UNIX",
            "RestrictAddressFamilies=~AF_(INET|INET6)", "PrivateNetwork=", "DeviceAllow=", "IPAddressDeny=",
        ];

        var result = await ToolRunner.RunAsync("systemd-analyze", "security", "--offline=true", "--no-pager", UnitPath);

        var failed = result.StdOut.Split('\n')
            .Where(line => line.StartsWith('\u2717'))
            .Select(line => line[1..].Trim().Split(' ')[0])
            .ToList();
        Assert.True(failed.Count > 0, result.ToString());
        Assert.All(failed, check => Assert.Contains(check, documented));
    }

    [Theory]
    [InlineData("Type", "notify")]
    [InlineData("NotifyAccess", "main")]
    [InlineData("ExecStart", Binary + " run --config /etc/bitcoin-price-scraper/config.json")]
    [InlineData("DynamicUser", "yes")]
    [InlineData("StateDirectory", "bitcoin-price-scraper")]
    [InlineData("ConfigurationDirectory", "bitcoin-price-scraper")]
    [InlineData("Restart", "on-failure")]
    [InlineData("RestartSec", "5")]
    [InlineData("TimeoutStopSec", "15")]
    [InlineData("MemoryDenyWriteExecute", "yes")]
    [InlineData("ProtectProc", "invisible")]
    [InlineData("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX")]
    [InlineData("CapabilityBoundingSet", "")]
    [InlineData("PrivateDevices", "yes")]
    [InlineData("PrivateUsers", "yes")]
    [InlineData("ProtectHostname", "yes")]
    [InlineData("ProtectClock", "yes")]
    [InlineData("ProtectKernelLogs", "yes")]
    [InlineData("UMask", "0077")]
    [InlineData("WantedBy", "multi-user.target")]
    public void Unit_SetsDirective(string key, string value)
    {
        Assert.Contains(value, Directives(key));
    }

    [Fact]
    public void Unit_DoesNotRestartOnConfigurationErrors()
    {
        var codes = Assert.Single(Directives("RestartPreventExitStatus")).Split(' ');

        Assert.Contains("78", codes);
    }

    [Fact]
    public void Unit_FiltersSystemCallsToSystemServiceWithoutPrivilegedAndResources()
    {
        var filters = Directives("SystemCallFilter");

        Assert.Contains("@system-service", filters);
        Assert.Contains("~@privileged @resources", filters);
    }

    [Fact]
    public void Unit_GivesEnoughDescriptorsForThousandsOfConnections()
    {
        // One value sets soft and hard: the daemon cannot raise the soft limit itself (setrlimit
        // is in @resources, filtered out), so the soft limit must be the large one.
        var value = Assert.Single(Directives("LimitNOFILE"));

        Assert.DoesNotContain(":", value, StringComparison.Ordinal);
        Assert.True(int.Parse(value, CultureInfo.InvariantCulture) >= 16384, value);
    }

    [Fact]
    public void Unit_StartsAfterTheClockIsSynchronized()
    {
        var after = Directives("After").SelectMany(v => v.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        Assert.Contains("time-sync.target", after);
        Assert.Contains("network-online.target", after);
    }

    [Fact]
    public void Unit_LimitsStarts()
    {
        Assert.Single(Directives("StartLimitIntervalSec"));
        Assert.Single(Directives("StartLimitBurst"));
    }

    [Theory]
    [InlineData("upbit-access-key")]
    [InlineData("upbit-secret-key")]
    public void Unit_LoadsEachKeyWithADefaultSoTheServiceStartsWithoutKeys(string id)
    {
        // systemd 252: LoadCredential= of a missing file fails the start (243/CREDENTIALS) unless
        // SetCredential= gives the same id a default.
        Assert.Contains($"{id}:/etc/bitcoin-price-scraper/credentials/{id}", Directives("LoadCredential"));
        Assert.Contains(Directives("SetCredential"), value => value.StartsWith(id + ":", StringComparison.Ordinal));
    }

    private static List<string> Directives(string key) =>
        File.ReadAllLines(UnitPath)
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && line[0] is not ('#' or ';' or '['))
            .Select(line => line.Split('=', 2))
            .Where(pair => pair.Length == 2 && pair[0] == key)
            .Select(pair => pair[1])
            .ToList();

    [GeneratedRegex(@"Overall exposure level for bitcoin-price-scraper\.service: (?<score>\d+\.\d+)")]
    private static partial Regex ExposurePattern();
}
