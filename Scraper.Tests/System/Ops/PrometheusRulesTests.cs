using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Ops;

/// <summary>prometheus/prometheus.yml and the alert rules, checked and unit-tested with promtool.</summary>
[SupportedOSPlatform("linux")]
public sealed partial class PrometheusRulesTests
{
    private static readonly string[] ExpectedAlerts =
    [
        "ScraperDown", "UpbitRateLimited", "UpbitBanned", "BackfillStalled",
        "CandleDataStale", "RequestFailureRatioHigh", "StoreWriteFailures", "HostClockSkewed",
    ];

    private static string ConfigPath => RepoPaths.Combine("prometheus", "prometheus.yml");

    private static string RulesPath => RepoPaths.Combine("prometheus", "rules", "bitcoin-price-scraper.rules.yml");

    private static string[] RuleTestFiles() =>
        Directory.GetFiles(RepoPaths.Combine("prometheus", "rules", "tests"), "*.yml").Order(StringComparer.Ordinal).ToArray();

    [SystemFact("promtool")]
    public async Task PromtoolCheckConfig_FromRepositoryRoot_FindsTheRuleFile()
    {
        var result = await ToolRunner.RunAsync("promtool", "check", "config", "prometheus/prometheus.yml");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("SUCCESS: 3 rule files found", result.StdOut, StringComparison.Ordinal);
    }

    [SystemFact("promtool")]
    public async Task PromtoolCheckConfig_FromAnotherDirectory_ResolvesRulesBesideTheConfig()
    {
        // As installed: $PREFIX/share/prometheus/prometheus.yml with rules/ beside it, any cwd.
        using var temp = new TempDirectory();
        var share = temp.Combine("share", "prometheus");
        CopyDirectory(RepoPaths.Combine("prometheus"), share);

        var result = await ToolRunner.RunAsync(
            "promtool", ["check", "config", Path.Combine(share, "prometheus.yml")], workingDirectory: "/");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("SUCCESS: 3 rule files found", result.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_ScrapesTheDaemonEvery15Seconds()
    {
        var config = File.ReadAllText(ConfigPath);

        Assert.Matches(@"(?m)^\s*scrape_interval:\s*15s\s*$", config);
        Assert.Matches(@"(?m)^\s*- job_name:\s*bitcoin-price-scraper\s*$", config);
        Assert.Matches(@"(?m)^\s*metrics_path:\s*/metrics\s*$", config);
        Assert.Matches(@"(?m)^\s*- targets:\s*\[""localhost:8081""\]\s*$", config);
        Assert.Matches(@"(?m)^\s*- rules/\*\.yml\s*$", config);
    }

    [SystemFact("promtool")]
    public async Task PromtoolCheckRules_AcceptsEveryRule()
    {
        var result = await ToolRunner.RunAsync("promtool", "check", "rules", RulesPath);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"SUCCESS: {ExpectedAlerts.Length} rules found", result.StdOut, StringComparison.Ordinal);
    }

    [SystemFact("promtool")]
    public async Task PromtoolTestRules_AllUnitTestsPass()
    {
        var result = await ToolRunner.RunAsync("promtool", ["test", "rules", .. RuleTestFiles()]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAILED", result.StdOut + result.StdErr, StringComparison.Ordinal);
    }

    /// <summary>
    /// Copies prometheus/rules, replaces <paramref name="original"/> (which must be there) by
    /// <paramref name="weakened"/> in <paramref name="ruleFile"/>, and runs promtool's unit tests of
    /// <paramref name="testsFolder"/> against the copy.
    /// </summary>
    internal static async Task<ToolResult> TestWithWeakenedRuleAsync(string ruleFile, string original, string weakened, string testsFolder)
    {
        using var temp = new TempDirectory();
        var rules = temp.Combine("rules");
        CopyDirectory(RepoPaths.Combine("prometheus", "rules"), rules);
        var file = Path.Combine(rules, ruleFile);
        var text = File.ReadAllText(file);
        Assert.Contains(original, text, StringComparison.Ordinal);
        File.WriteAllText(file, text.Replace(original, weakened, StringComparison.Ordinal));
        var tests = Directory.GetFiles(Path.Combine(rules, testsFolder), "*.yml").Order(StringComparer.Ordinal);
        return await ToolRunner.RunAsync("promtool", ["test", "rules", .. tests]);
    }

    [SystemFact("promtool")]
    public async Task PromtoolTestRules_WithAWeakenedRule_Fails()
    {
        // The unit tests must have teeth: a threshold moved from 20 % to 90 % is caught.
        var result = await TestWithWeakenedRuleAsync("bitcoin-price-scraper.rules.yml", ") > 0.2\n", ") > 0.9\n", "tests");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("RequestFailureRatioHigh", result.StdOut + result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Rules_DefineExactlyTheAgreedAlerts_EachWithSeverityAndAnnotations()
    {
        var blocks = AlertBlocks(File.ReadAllText(RulesPath));

        Assert.Equal(ExpectedAlerts.Order(StringComparer.Ordinal), blocks.Keys.Order(StringComparer.Ordinal));
        foreach (var (alert, block) in blocks)
        {
            Assert.True(SeverityPattern().IsMatch(block), $"{alert} has no severity: critical|warning label");
            Assert.True(block.Contains("summary:", StringComparison.Ordinal), $"{alert} has no summary annotation");
            Assert.True(block.Contains("description:", StringComparison.Ordinal), $"{alert} has no description annotation");
        }
    }

    [Fact]
    public void RuleTests_CoverEveryAlert_BothFiringAndNotFiring()
    {
        var firing = new HashSet<string>(StringComparer.Ordinal);
        var silent = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in RuleTestFiles())
        {
            // One block per expectation: "- eval_time: ...  alertname: X  exp_alerts: [] | - exp_labels".
            foreach (var block in File.ReadAllText(file).Split("- eval_time:", StringSplitOptions.None).Skip(1))
            {
                var name = AlertNamePattern().Match(block);
                Assert.True(name.Success, $"{file}: an expectation without alertname");
                var alert = name.Groups["name"].Value;
                if (EmptyExpectationPattern().IsMatch(block))
                {
                    silent.Add(alert);
                }
                else if (block.Contains("- exp_labels:", StringComparison.Ordinal))
                {
                    firing.Add(alert);
                }
            }
        }

        string[] all = [.. ExpectedAlerts, .. Fleet.FleetRulesTests.Alerts];
        Assert.Equal(all.Order(StringComparer.Ordinal), firing.Order(StringComparer.Ordinal));
        Assert.Equal(all.Order(StringComparer.Ordinal), silent.Order(StringComparer.Ordinal));
    }

    private static Dictionary<string, string> AlertBlocks(string rules)
    {
        var matches = AlertPattern().Matches(rules);
        var blocks = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < matches.Count; i++)
        {
            var end = i + 1 < matches.Count ? matches[i + 1].Index : rules.Length;
            blocks.Add(matches[i].Groups["name"].Value, rules[matches[i].Index..end]);
        }

        return blocks;
    }

    internal static void CopyDirectory(string source, string destination)
    {
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [GeneratedRegex(@"(?m)^\s*- alert:\s*(?<name>\w+)\s*$")]
    private static partial Regex AlertPattern();

    [GeneratedRegex(@"(?m)^\s*severity:\s*(critical|warning)\s*$")]
    private static partial Regex SeverityPattern();

    [GeneratedRegex(@"(?m)^\s*alertname:\s*(?<name>\w+)\s*$")]
    private static partial Regex AlertNamePattern();

    [GeneratedRegex(@"(?m)^\s*exp_alerts:\s*\[\]\s*$")]
    private static partial Regex EmptyExpectationPattern();
}
