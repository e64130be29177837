namespace Scraper.Hosting.Options;

/// <summary>One option's configured value, as its parse function sees it.</summary>
internal readonly struct OptionValue(OptionReader reader, SettingOption option)
{
    /// <summary>Whether any source set the option.</summary>
    public bool IsSet => reader.Has(option.Key);

    /// <summary>The value, or the option's default when none is set.</summary>
    public string Text => reader.String(option.Key, option.Default ?? "");

    /// <summary>The comma-separated items (a JSON array's items are split too).</summary>
    public IReadOnlyList<string> Items => reader.List(option.Key, option.Default ?? "");

    /// <summary>The value as given, for an error message (a JSON array is joined with commas).</summary>
    public string Raw => reader.Raw(option.Key, option.Default ?? "");

    /// <summary>The current time, for relative instants.</summary>
    public DateTimeOffset Now => reader.Now;

    /// <summary>The process environment.</summary>
    public IReadOnlyDictionary<string, string> Environment => reader.Environment;

    /// <summary>The absolute path, or an error for a value no file can have.</summary>
    public string FullPath(string path) => reader.FullPath(option.Key, path);

    /// <summary>An error naming where the value came from, the value (unless secret) and what is expected.</summary>
    public ConfigException Error(string value, string expected) => reader.Error(option.Key, value, expected);
}
