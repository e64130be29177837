using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;

namespace Scraper.Hosting.Options;

/// <summary>Typed reads of configuration values, with errors that name where the value came from.</summary>
internal sealed class OptionReader(IConfigurationRoot config, string? configFile, IEnumerable<string> envKeys, DateTimeOffset now, IReadOnlyDictionary<string, string> environment)
{
    private readonly HashSet<string> _env = new(envKeys, StringComparer.OrdinalIgnoreCase);

    /// <summary>The current time, for relative instants such as 30d.</summary>
    public DateTimeOffset Now { get; } = now;

    /// <summary>The process environment.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; } = environment;

    public bool Has(SettingOption option) => Has(option.Key);

    public string Source(SettingOption option) => Source(option.Key);

    public ConfigException Error(SettingOption option, string value, string expected) => Error(option.Key, value, expected);

    public bool Has(string key) => config[key] is not null || config.GetSection(key).GetChildren().Any();

    public string String(string key, string fallback) => config[key] ?? fallback;

    public IReadOnlyList<string> List(string key, string fallback)
    {
        var section = config.GetSection(key);
        var children = section.GetChildren().Select(c => c.Value).OfType<string>().ToList();
        var raw = children.Count > 0 ? children : [section.Value ?? fallback];
        return raw.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
    }

    /// <summary>The raw text of a key, as given (a list in a JSON file is joined with commas).</summary>
    public string Raw(string key, string fallback)
    {
        var children = config.GetSection(key).GetChildren().Select(c => c.Value).OfType<string>().ToList();
        return children.Count > 0 ? string.Join(',', children) : String(key, fallback);
    }

    /// <summary>The absolute path of a path option, or a one-line error for a value no file can have.</summary>
    public string FullPath(string key, string path)
    {
        if (path.Trim().Length == 0) throw Error(key, path, "expected a file path");
        if (path.Contains('\0', StringComparison.Ordinal)) throw Error(key, path, "expected a file path (a path cannot hold a NUL character)");
        try
        {
            return Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw Error(key, path, $"expected a file path ({SettingsLoader.FirstLine(e.Message)})");
        }
    }

    public ConfigException Error(string key, string value, string expected)
    {
        var shown = SettingOptions.Find(key) is { Secret: true } ? "(value hidden)" : $"'{SettingsLoader.Printable(value)}'";
        return new ConfigException($"invalid {Source(key)} {shown}: {expected}");
    }

    /// <summary>Where the key's value came from: --flag, SCRAPER_KEY, the credentials directory or the config file's key.</summary>
    public string Source(string key)
    {
        var flag = SettingOption.ToFlag(key);
        var providers = config.Providers.ToList();
        for (var i = providers.Count - 1; i >= 0; i--)
        {
            var p = providers[i];
            if (!p.TryGet(key, out _) && !p.GetChildKeys([], key).Any()) continue;
            return p switch
            {
                JsonConfigurationProvider => $"\"{key}\" in {configFile}",
                _ when i == providers.Count - 1 => flag,
                _ when i == providers.Count - 2 => "$CREDENTIALS_DIRECTORY file for " + flag,
                _ when _env.Contains(key) => SettingOption.EnvironmentPrefix + key.ToUpperInvariant(),
                _ => flag,
            };
        }
        return flag;
    }
}
