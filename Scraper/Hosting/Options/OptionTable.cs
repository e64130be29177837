namespace Scraper.Hosting.Options;

/// <summary>
/// The option table of README.md ("Command line"), made from <see cref="SettingOptions.All"/> and
/// --config. A test compares README.md with <see cref="Markdown"/>, so the two cannot drift apart.
/// </summary>
internal static class OptionTable
{
    /// <summary>The flag naming the JSON config file; it is not a setting, so it has no config key.</summary>
    public const string ConfigFlag = "--config";

    /// <summary>The environment variable naming the JSON config file.</summary>
    public const string ConfigEnvironment = SettingOption.EnvironmentPrefix + "CONFIG";

    /// <summary>What the config file is, for --help and README.md.</summary>
    public const string ConfigHelp = "JSON config file (// comments allowed)";

    /// <summary>The column headers.</summary>
    public static readonly IReadOnlyList<string> Header = ["option", "config key", "environment", "default", "meaning"];

    /// <summary>The rows' cells, as written in README.md (Markdown, pipes escaped).</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Rows()
    {
        var rows = new List<IReadOnlyList<string>>
        {
            Row($"{ConfigFlag} FILE", null, Code(ConfigEnvironment), null, ConfigHelp),
        };
        foreach (var o in SettingOptions.All)
        {
            var environment = o.Credential is null ? Code(o.EnvironmentName) : $"{Code(o.EnvironmentName)}; systemd credential {Code(o.Credential)}";
            rows.Add(Row($"{o.Flag} {o.HelpName}", o.Key, environment, o.Default, o.Help));
        }
        return rows;
    }

    /// <summary>The whole table, header included, one line per row.</summary>
    public static string Markdown() =>
        string.Join('\n', [Line(Header), Line(Header.Select(_ => "---").ToList()), .. Rows().Select(Line)]) + "\n";

    private static string[] Row(string option, string? key, string environment, string? fallback, string meaning) =>
        [Code(option), key is null ? "—" : Code(key), environment, fallback is null ? "none" : Code(fallback), meaning.Replace("|", "\\|", StringComparison.Ordinal)];

    private static string Code(string text) => $"`{text.Replace("|", "\\|", StringComparison.Ordinal)}`";

    private static string Line(IReadOnlyList<string> cells) => $"| {string.Join(" | ", cells)} |";
}
