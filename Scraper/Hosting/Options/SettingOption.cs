using System.Text.RegularExpressions;

namespace Scraper.Hosting.Options;

/// <summary>
/// One setting: its configuration key and everything derived from or said about it — the
/// command-line flag, the environment variable, the help text, the default and how its value is
/// read. <see cref="SettingOptions.All"/> lists them; the loader, the command line and the
/// README's option table all come from that list.
/// </summary>
internal abstract partial class SettingOption
{
    /// <summary>Prefix of the environment variables.</summary>
    public const string EnvironmentPrefix = "SCRAPER_";

    /// <summary>The key as written in the JSON config file, e.g. UpbitUrl.</summary>
    public required string Key { get; init; }

    /// <summary>The value's placeholder in --help, e.g. URL.</summary>
    public required string HelpName { get; init; }

    /// <summary>What the option means, one phrase without a final period.</summary>
    public required string Help { get; init; }

    /// <summary>The default as shown to users, or null when there is none.</summary>
    public string? Default { get; init; }

    /// <summary>A secret's value is never shown in an error message.</summary>
    public bool Secret { get; init; }

    /// <summary>The systemd credential (a file in $CREDENTIALS_DIRECTORY) that can hold the value, or null.</summary>
    public string? Credential { get; init; }

    /// <summary>The command-line flag: Rate → --rate, UpbitUrl → --upbit-url.</summary>
    public string Flag => ToFlag(Key);

    /// <summary>The environment variable: SCRAPER_ and the key in capitals.</summary>
    public string EnvironmentName => EnvironmentPrefix + Key.ToUpperInvariant();

    /// <summary>The --help text: the meaning, then the default and the credential.</summary>
    public string Description
    {
        get
        {
            string[] notes = [.. new[] { Default is null ? null : $"default {Default}", Credential is null ? null : $"systemd credential: {Credential}" }.OfType<string>()];
            return notes.Length == 0 ? Help + "." : $"{Help} ({string.Join("; ", notes)}).";
        }
    }

    /// <summary>The command-line flag of a key: Rate → --rate, UpbitUrl → --upbit-url.</summary>
    public static string ToFlag(string key) => "--" + KebabPattern().Replace(key, "$1-$2").ToLowerInvariant();

    [GeneratedRegex("([a-z0-9])([A-Z])", RegexOptions.CultureInvariant)]
    private static partial Regex KebabPattern();
}

/// <summary>A setting whose value reads as a <typeparamref name="T"/>.</summary>
/// <typeparam name="T">The validated value's type.</typeparam>
internal sealed class SettingOption<T> : SettingOption
{
    /// <summary>Reads and validates the value; throws a <see cref="ConfigException"/> naming the option's source.</summary>
    public required Func<OptionValue, T> Parse { get; init; }

    /// <summary>This option's value from <paramref name="reader"/>, validated.</summary>
    public T Read(OptionReader reader) => Parse(new OptionValue(reader, this));
}
