using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Scraper.Tests.Ops;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Fleet;

/// <summary>prometheus/rules/fleet.yml: the fleet's alerts, checked and unit-tested with promtool (the tests must be able to fail).</summary>
[SupportedOSPlatform("linux")]
public sealed partial class FleetRulesTests
{
    /// <summary>The fleet's alerts (PrometheusRulesTests checks that the rule tests cover them).</summary>
    public static readonly string[] Alerts = ["FleetScraperIdle", "FleetLeasesKeepExpiring", "FleetDatabaseUnreachable"];

    private static string RulesPath => RepoPaths.Combine("prometheus", "rules", "fleet.yml");

    private static string TestPath => RepoPaths.Combine("prometheus", "rules", "tests", "fleet.test.yml");

    [SystemFact("promtool")]
    public async Task Promtool_accepts_the_rules_and_their_unit_tests_pass()
    {
        var check = await ToolRunner.RunAsync("promtool", "check", "rules", RulesPath);
        var test = await ToolRunner.RunAsync("promtool", "test", "rules", TestPath);

        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains($"SUCCESS: {Alerts.Length} rules found", check.StdOut, StringComparison.Ordinal);
        Assert.True(test.ExitCode == 0, test.ToString());
    }

    [SystemTheory("promtool")]
    [InlineData("for: 20m", "for: 5m", "FleetLeasesKeepExpiring")]
    [InlineData("kind=\"windows\"} == 0", "kind=\"windows\"} >= 0", "FleetScraperIdle")]
    [InlineData("scraper_store_available{job=\"bitcoin-price-scraper\"} == 0", "scraper_store_available{job=\"bitcoin-price-scraper\"} < 0", "FleetDatabaseUnreachable")]
    public async Task A_weakened_rule_fails_its_unit_test(string original, string weakened, string alert)
    {
        var result = await PrometheusRulesTests.TestWithWeakenedRuleAsync("fleet.yml", original, weakened, "tests");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(alert, result.StdOut + result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_fleet_alert_has_a_severity_a_summary_and_a_description()
    {
        var rules = File.ReadAllText(RulesPath);
        var names = AlertPattern().Matches(rules).Select(m => m.Groups["name"].Value).ToList();

        Assert.Equal(Alerts, names);
        foreach (var block in rules.Split("- alert:").Skip(1))
        {
            Assert.Matches(@"(?m)^\s*severity:\s*(critical|warning)\s*$", block);
            Assert.Contains("summary:", block, StringComparison.Ordinal);
            Assert.Contains("description:", block, StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"(?m)^\s*- alert:\s*(?<name>\w+)\s*$")]
    private static partial Regex AlertPattern();
}
