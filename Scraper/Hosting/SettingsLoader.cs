using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;
using Scraper.Exchange;
using Scraper.Hosting.Options;

namespace Scraper.Hosting;

/// <summary>
/// Builds <see cref="ScraperSettings"/> from, lowest precedence first: built-in defaults, the JSON
/// config file (--config, or SCRAPER_CONFIG), environment variables (SCRAPER_RATE, …), systemd
/// credentials ($CREDENTIALS_DIRECTORY/upbit-access-key, …), the command line. The options and
/// their own checks are <see cref="SettingOptions"/>; here are the sources and the checks between
/// options. Every error names where the bad value came from, the value, and what is expected.
/// </summary>
internal static class SettingsLoader
{
    /// <summary>Prefix of the environment variables.</summary>
    public const string EnvironmentPrefix = SettingOption.EnvironmentPrefix;

    /// <summary>Every configuration key, as written in the JSON file.</summary>
    public static readonly IReadOnlyList<string> Keys = [.. SettingOptions.All.Select(o => o.Key)];

    /// <summary>No history is asked for before this: older instants are typing errors, and would plan millions of windows.</summary>
    public static readonly DateTimeOffset EarliestSince = OptionParsers.EarliestSince;

    /// <summary>The command-line flag of a key: Rate → --rate, UpbitUrl → --upbit-url.</summary>
    public static string Flag(string key) => SettingOption.ToFlag(key);

    /// <summary>Loads and validates. Throws <see cref="ConfigException"/> on the first bad value.</summary>
    /// <param name="commandLine">Values given on the command line, by key.</param>
    /// <param name="configFile">--config FILE, or null.</param>
    /// <param name="environment">The process environment (injected for tests).</param>
    /// <param name="now">The current time, for relative --since/--until.</param>
    /// <param name="needsWritableDb">run and backfill write the database; verify and export only read it.</param>
    public static ScraperSettings Load(
        IReadOnlyDictionary<string, string> commandLine,
        string? configFile,
        IReadOnlyDictionary<string, string> environment,
        DateTimeOffset now,
        bool needsWritableDb)
    {
        configFile ??= environment.GetValueOrDefault(OptionTable.ConfigEnvironment);
        var builder = new ConfigurationBuilder();
        if (configFile is not null)
        {
            if (!File.Exists(configFile)) throw new ConfigException($"invalid --config '{Printable(configFile)}': file not found (expected a JSON config file)");
            var json = new JsonConfigurationSource { Path = Path.GetFullPath(configFile), Optional = false, ReloadOnChange = false };
            json.ResolveFileProvider();
            builder.Add(json);
        }
        var env = environment
            .Where(kv => kv.Key.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase) && !kv.Key.Equals(OptionTable.ConfigEnvironment, StringComparison.OrdinalIgnoreCase))
            .ToDictionary(kv => kv.Key[EnvironmentPrefix.Length..], kv => (string?)kv.Value, StringComparer.OrdinalIgnoreCase);
        builder.Add(new MemoryConfigurationSource { InitialData = env });
        builder.Add(new MemoryConfigurationSource { InitialData = ReadCredentialsDirectory(environment) });
        builder.Add(new MemoryConfigurationSource { InitialData = commandLine.ToDictionary(kv => kv.Key, kv => (string?)kv.Value) });

        IConfigurationRoot config;
        try
        {
            config = builder.Build();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or System.Text.Json.JsonException)
        {
            throw new ConfigException($"invalid --config '{Printable(configFile ?? "")}': not valid JSON ({FirstLine(e.Message)}); expected an object of option names, e.g. {{\"Markets\": \"KRW-BTC\"}}");
        }

        var envKeys = env.Keys.ToList();
        RejectUnknownKeys(config, configFile, envKeys);
        if (configFile is not null) RejectReadableSecrets(config, configFile);
        var reader = new OptionReader(config, configFile, envKeys, now, environment);

        var markets = SettingOptions.Markets.Read(reader);
        var units = SettingOptions.Units.Read(reader);
        var since = SettingOptions.Since.Read(reader);
        var until = SettingOptions.Until.Read(reader);
        if (since >= (until ?? now))
        {
            var sinceText = reader.String(SettingOptions.Since.Key, SettingOptions.Since.Default!);
            var untilShown = until is null ? "now" : $"{reader.Source(SettingOptions.Until)} '{Printable(reader.String(SettingOptions.Until.Key, ""))}'";
            throw reader.Error(SettingOptions.Since, sinceText, $"expected a time before {untilShown} ({(until ?? now).UtcDateTime:yyyy-MM-ddTHH:mm:ssZ})");
        }
        var url = SettingOptions.UpbitUrl.Read(reader);
        var listen = SettingOptions.Listen.Read(reader);
        var rate = SettingOptions.Rate.Read(reader);
        var tickerInterval = SettingOptions.TickerInterval.Read(reader);
        var timeout = SettingOptions.RequestTimeout.Read(reader);
        var logLevel = SettingOptions.LogLevel.Read(reader);
        var db = SettingOptions.Db.Read(reader);
        if (needsWritableDb && !db.IsPostgres) EnsureWritable(db.Given, reader);

        return new ScraperSettings
        {
            UpbitUrl = url,
            Markets = markets,
            Units = units,
            Since = since,
            Until = until,
            DbPath = db.Resolved,
            DbPasswordFile = SettingOptions.DbPasswordFile.Read(reader),
            Instance = SettingOptions.Instance.Read(reader),
            LeasePeriod = SettingOptions.LeasePeriod.Read(reader),
            BindAddress = SettingOptions.BindAddress.Read(reader),
            Listen = listen,
            Rate = rate,
            ReserveForOthers = SettingOptions.ReserveForOthers.Read(reader),
            TickerInterval = tickerInterval,
            RequestTimeout = timeout,
            Credentials = ReadCredentials(reader),
            LogLevel = logLevel,
            Live = SettingOptions.Live.Read(reader),
            ReconcileEvery = SettingOptions.ReconcileEvery.Read(reader),
            StreamPing = SettingOptions.StreamPing.Read(reader),
        };
    }

    /// <summary>Both keys or neither; a key file wins over a key given as a value.</summary>
    private static UpbitCredentials? ReadCredentials(OptionReader reader)
    {
        var access = SettingOptions.AccessKeyFile.Read(reader) ?? SettingOptions.AccessKey.Read(reader);
        var secret = SettingOptions.SecretKeyFile.Read(reader) ?? SettingOptions.SecretKey.Read(reader);
        if (access is null && secret is null) return null;
        if (access is null) throw reader.Error(SettingOptions.AccessKey, "(missing)", $"expected an access key too, since {reader.Source(reader.Has(SettingOptions.SecretKeyFile) ? SettingOptions.SecretKeyFile : SettingOptions.SecretKey)} is configured");
        if (secret is null) throw reader.Error(SettingOptions.SecretKey, "(missing)", $"expected a secret key too, since {reader.Source(reader.Has(SettingOptions.AccessKeyFile) ? SettingOptions.AccessKeyFile : SettingOptions.AccessKey)} is configured");
        return new UpbitCredentials(access, secret);
    }

    private static Dictionary<string, string?> ReadCredentialsDirectory(IReadOnlyDictionary<string, string> environment)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (!environment.TryGetValue("CREDENTIALS_DIRECTORY", out var dir) || string.IsNullOrEmpty(dir)) return data;
        foreach (var option in SettingOptions.All.Where(o => o.Credential is not null))
        {
            // The unit gives every credential a one-newline fallback (SetCredential=), so an
            // empty credential means "no key configured", not an error.
            var path = Path.Combine(dir, option.Credential!);
            if (File.Exists(path) && File.ReadAllText(path).Trim().Length > 0) data[option.Key] = path;
        }
        return data;
    }

    private static void EnsureWritable(string dbPath, OptionReader reader)
    {
        var full = Path.GetFullPath(dbPath);
        if (Directory.Exists(full)) throw reader.Error(SettingOptions.Db, dbPath, "expected a file path, but it is a directory");
        var dir = Path.GetDirectoryName(full)!;
        try
        {
            Directory.CreateDirectory(dir);
            if (File.Exists(full))
            {
                using var _ = new FileStream(full, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            }
            else
            {
                var probe = Path.Combine(dir, $".bitcoin-price-scraper-write-test-{Environment.ProcessId}");
                using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw reader.Error(SettingOptions.Db, dbPath, $"expected a writable database path ({FirstLine(e.Message)})");
        }
    }

    private static void RejectUnknownKeys(IConfigurationRoot config, string? configFile, IEnumerable<string> envKeys)
    {
        foreach (var provider in config.Providers.OfType<JsonConfigurationProvider>())
        {
            foreach (var key in provider.GetChildKeys([], null).Distinct(StringComparer.OrdinalIgnoreCase))
            {
                if (SettingOptions.Find(key) is null)
                    throw new ConfigException($"invalid key \"{key}\" in {configFile}: unknown option (expected one of {string.Join(", ", Keys)})");
            }
        }
        foreach (var key in envKeys)
        {
            if (SettingOptions.Find(key) is null)
                throw new ConfigException($"invalid environment variable {EnvironmentPrefix}{key.ToUpperInvariant()}: unknown option (expected {EnvironmentPrefix} followed by one of {string.Join(", ", Keys.Select(k => k.ToUpperInvariant()))})");
        }
    }

    /// <summary>A config file holding a key must not be readable by every user of the machine.</summary>
    private static void RejectReadableSecrets(IConfigurationRoot config, string configFile)
    {
        var holdsKey = config.Providers.OfType<JsonConfigurationProvider>()
            .Any(p => SettingOptions.All.Any(o => o.Secret && p.TryGet(o.Key, out _)));
        if (!holdsKey || OperatingSystem.IsWindows()) return;
        var mode = File.GetUnixFileMode(configFile);
        if ((mode & UnixFileMode.OtherRead) != 0)
            throw new ConfigException($"invalid --config '{configFile}': it holds an API key but every user can read it (mode {Convert.ToString((int)mode, 8)}); expected mode 0600 or 0640 (chmod o-r), or keys in --secret-key-file / systemd credentials");
    }

    /// <summary>
    /// A value as it can be shown on one line of a terminal or the journal: control and
    /// direction-changing characters escaped, and cut after 200 characters.
    /// </summary>
    internal static string Printable(string value)
    {
        var shown = value.Length > 200 ? value[..200] : value;
        var escaped = string.Concat(shown.Select(c => char.IsControl(c) || c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069'
            ? $"\\u{(int)c:x4}"
            : c.ToString()));
        return value.Length > 200 ? $"{escaped}… ({value.Length} characters)" : escaped;
    }

    internal static string FirstLine(string message)
    {
        var line = message.Split('\n')[0].Trim();
        return line.Length > 200 ? line[..200] : line;
    }
}
