using System.Runtime.Versioning;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Ops;

/// <summary>The live-following alert rules (prometheus/rules/bitcoin-price-scraper-live.rules.yml), checked and unit-tested with promtool.</summary>
[SupportedOSPlatform("linux")]
public sealed class LiveRulesTests
{
    private static string RulesPath => RepoPaths.Combine("prometheus", "rules", "bitcoin-price-scraper-live.rules.yml");

    private static string[] TestFiles(string rulesDir) => Directory.GetFiles(Path.Combine(rulesDir, "live-tests"), "*.yml").Order(StringComparer.Ordinal).ToArray();

    [SystemFact("promtool")]
    public async Task Promtool_accepts_both_rules_and_their_unit_tests_pass()
    {
        var check = await ToolRunner.RunAsync("promtool", "check", "rules", RulesPath);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains("SUCCESS: 2 rules found", check.StdOut, StringComparison.Ordinal);

        var test = await ToolRunner.RunAsync("promtool", ["test", "rules", .. TestFiles(RepoPaths.Combine("prometheus", "rules"))]);
        Assert.True(test.ExitCode == 0, test.ToString());
        Assert.DoesNotContain("FAILED", test.StdOut + test.StdErr, StringComparison.Ordinal);
    }

    [SystemTheory("promtool")]
    [InlineData(") > 10\n", ") > 100\n", "LiveLagHigh")]
    [InlineData("for: 5m\n", "for: 1m\n", "StreamDown")]
    public async Task A_weakened_rule_fails_its_unit_tests(string original, string weakened, string alert)
    {
        var result = await PrometheusRulesTests.TestWithWeakenedRuleAsync("bitcoin-price-scraper-live.rules.yml", original, weakened, "live-tests");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(alert, result.StdOut + result.StdErr, StringComparison.Ordinal);
    }
}
