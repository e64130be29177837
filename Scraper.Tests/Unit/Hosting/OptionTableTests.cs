using Scraper.Hosting;
using Scraper.Hosting.Options;

namespace Scraper.Tests.Hosting;

/// <summary>
/// README.md's option table is the code's table (<see cref="SettingOptions"/>): same options,
/// config keys, environment variables, defaults and meanings, in the same order.
/// </summary>
public class OptionTableTests
{
    [Fact]
    public void The_readme_option_table_matches_the_code_row_by_row()
    {
        var readme = ReadmeOptionTable();
        var expected = OptionTable.Rows();
        var problems = new List<string>();

        if (!readme[0].SequenceEqual(OptionTable.Header)) problems.Add($"header: README has [{string.Join(", ", readme[0])}], code has [{string.Join(", ", OptionTable.Header)}]");
        var rows = readme.Skip(2).ToList();
        for (var i = 0; i < Math.Max(rows.Count, expected.Count); i++)
        {
            var actual = i < rows.Count ? rows[i] : [];
            var wanted = i < expected.Count ? expected[i] : [];
            for (var c = 0; c < OptionTable.Header.Count; c++)
            {
                var a = c < actual.Count ? actual[c] : "(missing)";
                var w = c < wanted.Count ? wanted[c] : "(missing)";
                if (a != w) problems.Add($"row {i + 1}, {OptionTable.Header[c]}: README has {a}, code has {w}");
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems) + "\n\nThe table as the code has it:\n" + OptionTable.Markdown());
    }

    [Fact]
    public void Every_setting_has_a_distinct_flag_and_environment_variable()
    {
        Assert.Equal(SettingOptions.All.Count, SettingOptions.All.Select(o => o.Flag).Distinct().Count());
        Assert.Equal(SettingOptions.All.Count, SettingOptions.All.Select(o => o.EnvironmentName).Distinct().Count());
        Assert.Equal(SettingsLoader.Keys, SettingOptions.All.Select(o => o.Key));
    }

    [Fact]
    public void The_loader_accepts_every_environment_variable_of_the_table()
    {
        var db = Path.Combine(Path.GetTempPath(), $"bps-option-table-{Guid.NewGuid():N}", "candles.db");
        foreach (var option in SettingOptions.All)
        {
            var env = new Dictionary<string, string> { ["HOME"] = "/root", [option.EnvironmentName] = option.Default ?? "x" };
            try
            {
                SettingsLoader.Load(new Dictionary<string, string> { ["Db"] = db }, null, env, DateTimeOffset.UtcNow, needsWritableDb: false);
            }
            catch (ConfigException e)
            {
                // A value may be refused (a key without its partner); the variable itself must be known.
                Assert.DoesNotContain("unknown option", e.Message, StringComparison.Ordinal);
                Assert.Contains(option.EnvironmentName, e.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Help_lists_every_setting_with_its_placeholder_and_description()
    {
        var help = new StringWriter();
        Assert.Null(new CommandLineInterface().Parse(["--help"], help, out _));
        var text = string.Join(' ', help.ToString().Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));

        Assert.All(SettingOptions.All, o => Assert.Contains($"{o.Flag} <{o.HelpName}> {o.Description}", text, StringComparison.Ordinal));
    }

    /// <summary>The rows of the table under "## Command line" whose first header is "option", split into cells.</summary>
    private static List<List<string>> ReadmeOptionTable()
    {
        var lines = File.ReadAllLines(Path.Combine(Commands.RepoRoot, "README.md"));
        var section = Array.IndexOf(lines, "## Command line");
        Assert.True(section >= 0, "README.md has no \"## Command line\" section");
        var start = Array.FindIndex(lines, section, l => l.StartsWith("| option |", StringComparison.Ordinal));
        Assert.True(start >= 0, "README.md's \"## Command line\" has no table starting with \"| option |\"");
        return lines.Skip(start).TakeWhile(l => l.StartsWith('|')).Select(Cells).ToList();
    }

    /// <summary>The cells of a Markdown table row; an escaped pipe (\|) stays inside its cell.</summary>
    private static List<string> Cells(string line)
    {
        var cells = new List<string>();
        var cell = new System.Text.StringBuilder();
        for (var i = 1; i < line.Length; i++)
        {
            if (line[i] == '\\' && i + 1 < line.Length && line[i + 1] == '|')
            {
                cell.Append("\\|");
                i++;
            }
            else if (line[i] == '|')
            {
                cells.Add(cell.ToString().Trim());
                cell.Clear();
            }
            else
            {
                cell.Append(line[i]);
            }
        }
        return cells;
    }
}
