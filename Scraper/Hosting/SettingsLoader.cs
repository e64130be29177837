using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;
using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Metrics;

namespace Scraper.Hosting;

/// <summary>
/// Builds <see cref="ScraperSettings"/> from, lowest precedence first: built-in defaults, the JSON
/// config file (--config, or SCRAPER_CONFIG), environment variables (SCRAPER_RATE, …), systemd
/// credentials ($CREDENTIALS_DIRECTORY/upbit-access-key, upbit-secret-key), the command line.
/// Every error names where the bad value came from, the value, and what is expected.
/// </summary>
public static partial class SettingsLoader
{
    /// <summary>Prefix of the environment variables.</summary>
    public const string EnvironmentPrefix = "SCRAPER_";

    /// <summary>Every configuration key, as written in the JSON file.</summary>
    public static readonly IReadOnlyList<string> Keys =
    [
        "UpbitUrl", "Markets", "Units", "Since", "Until", "Db", "Listen", "Rate", "TickerInterval", "RequestTimeout",
        "AccessKey", "SecretKey", "AccessKeyFile", "SecretKeyFile", "LogLevel", "DbPasswordFile",
    ];

    private static readonly HashSet<string> SecretKeys = new(StringComparer.OrdinalIgnoreCase) { "AccessKey", "SecretKey" };

    /// <summary>
    /// The accepted log levels, by name only. None is refused: a daemon that logs nothing would
    /// also hide its one Critical line (the database failing); Critical is the quietest level.
    /// </summary>
    private static readonly Microsoft.Extensions.Logging.LogLevel[] LogLevels =
    [
        Microsoft.Extensions.Logging.LogLevel.Trace, Microsoft.Extensions.Logging.LogLevel.Debug, Microsoft.Extensions.Logging.LogLevel.Information,
        Microsoft.Extensions.Logging.LogLevel.Warning, Microsoft.Extensions.Logging.LogLevel.Error, Microsoft.Extensions.Logging.LogLevel.Critical,
    ];

    /// <summary>No history is asked for before this: older instants are typing errors, and would plan millions of windows.</summary>
    public static readonly DateTimeOffset EarliestSince = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [GeneratedRegex("^[A-Z0-9]{2,10}-[A-Z0-9]{1,20}$", RegexOptions.CultureInvariant)]
    private static partial Regex MarketPattern();

    /// <summary>The command-line flag of a key: Rate → --rate, UpbitUrl → --upbit-url.</summary>
    public static string Flag(string key) => "--" + KebabPattern().Replace(key, "$1-$2").ToLowerInvariant();

    [GeneratedRegex("([a-z0-9])([A-Z])", RegexOptions.CultureInvariant)]
    private static partial Regex KebabPattern();

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
        configFile ??= environment.GetValueOrDefault(EnvironmentPrefix + "CONFIG");
        var builder = new ConfigurationBuilder();
        if (configFile is not null)
        {
            if (!File.Exists(configFile)) throw new ConfigException($"invalid --config '{Printable(configFile)}': file not found (expected a JSON config file)");
            var json = new JsonConfigurationSource { Path = Path.GetFullPath(configFile), Optional = false, ReloadOnChange = false };
            json.ResolveFileProvider();
            builder.Add(json);
        }
        var env = environment
            .Where(kv => kv.Key.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase) && !kv.Key.Equals(EnvironmentPrefix + "CONFIG", StringComparison.OrdinalIgnoreCase))
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

        var sources = new SourceNames(config, configFile, env.Keys);
        RejectUnknownKeys(config, sources, env.Keys);
        if (configFile is not null) RejectReadableSecrets(config, configFile);
        var reader = new Reader(config, sources);

        var marketsText = reader.String("Markets", "KRW-BTC");
        var markets = reader.List("Markets", "KRW-BTC")
            .Select(m => m.Trim().ToUpperInvariant())
            .ToList();
        foreach (var market in markets)
        {
            if (!MarketPattern().IsMatch(market))
                throw reader.Error("Markets", reader.Raw("Markets", marketsText), $"expected markets like KRW-BTC,BTC-ETH (QUOTE-BASE, letters and digits); '{Printable(market)}' is not one");
        }
        if (markets.Count == 0) throw reader.Error("Markets", reader.Raw("Markets", marketsText), "expected at least one market, e.g. KRW-BTC");

        var units = new List<CandleUnit>();
        foreach (var text in reader.List("Units", "1"))
        {
            if (!CandleUnit.TryParse(text, out var unit))
                throw reader.Error("Units", text, "expected minute units 1,3,5,10,15,30,60,240 or day");
            if (!units.Contains(unit)) units.Add(unit);
        }

        var sinceText = reader.String("Since", "30d");
        if (!Durations.TryParseInstant(sinceText, now, out var since) || since < EarliestSince)
            throw reader.Error("Since", sinceText, $"expected an ISO date or date-time (2025-01-31, 2025-01-31T12:00:00Z) or an age such as 30d, 12h, not before {EarliestSince:yyyy-MM-dd}");
        DateTimeOffset? until = null;
        var untilText = "";
        if (reader.Has("Until"))
        {
            untilText = reader.String("Until", "");
            if (!Durations.TryParseInstant(untilText, now, out var u) || u < EarliestSince)
                throw reader.Error("Until", untilText, $"expected an ISO date or date-time or an age such as 1d, not before {EarliestSince:yyyy-MM-dd}");
            until = u;
        }
        if (since >= (until ?? now))
            throw reader.Error("Since", sinceText, $"expected a time before {(until is null ? "now" : $"{reader.Source("Until")} '{Printable(untilText)}'")} ({(until ?? now).UtcDateTime:yyyy-MM-ddTHH:mm:ssZ})");

        var urlText = reader.String("UpbitUrl", "https://api.upbit.com");
        if (!Uri.TryCreate(urlText, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(url.Query))
            throw reader.Error("UpbitUrl", urlText, "expected an http(s) base URL such as https://api.upbit.com");

        var listenText = reader.String("Listen", "0.0.0.0:8081");
        var listen = ListenAddress.TryParse(listenText, out var listenError) ?? throw reader.Error("Listen", listenText, listenError);

        var rateText = reader.String("Rate", "10");
        if (!int.TryParse(rateText, NumberStyles.None, CultureInfo.InvariantCulture, out var rate) || rate is < 1 or > 1000)
            throw reader.Error("Rate", rateText, "expected a whole number of requests per second from 1 to 1000");

        var tickerInterval = reader.Duration("TickerInterval", "1s", TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
        var timeout = reader.Duration("RequestTimeout", "10s", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5));

        var logLevelText = reader.String("LogLevel", "Information");
        var logLevel = LogLevels.FirstOrDefault(l => l.ToString().Equals(logLevelText.Trim(), StringComparison.OrdinalIgnoreCase), Microsoft.Extensions.Logging.LogLevel.None);
        if (logLevel == Microsoft.Extensions.Logging.LogLevel.None)
            throw reader.Error("LogLevel", logLevelText, $"expected {string.Join(", ", LogLevels[..^1])} or {LogLevels[^1]}");

        var dbPath = reader.String("Db", environment.TryGetValue("STATE_DIRECTORY", out var state) && state.Length > 0
            ? Path.Combine(state.Split(':')[0], "candles.db")
            : Path.Combine("data", "candles.db"));
        var postgres = Scraper.Storage.Postgres.PostgresConnectionSettings.IsPostgres(dbPath);
        var dbFullPath = postgres ? dbPath : reader.FullPath("Db", dbPath);
        if (needsWritableDb && !postgres) EnsureWritable(dbPath, reader);

        return new ScraperSettings
        {
            UpbitUrl = url,
            Markets = markets,
            Units = units,
            Since = since,
            Until = until,
            DbPath = dbFullPath,
            DbPasswordFile = reader.Has("DbPasswordFile") ? reader.FullPath("DbPasswordFile", reader.String("DbPasswordFile", "")) : null,
            Listen = listen,
            Rate = rate,
            TickerInterval = tickerInterval,
            RequestTimeout = timeout,
            Credentials = ReadCredentials(reader),
            LogLevel = logLevel,
        };
    }

    private static UpbitCredentials? ReadCredentials(Reader reader)
    {
        var access = SecretValue(reader, "AccessKey", "AccessKeyFile");
        var secret = SecretValue(reader, "SecretKey", "SecretKeyFile");
        if (access is null && secret is null) return null;
        if (access is null) throw reader.Error("AccessKey", "(missing)", $"expected an access key too, since {reader.Source(reader.Has("SecretKeyFile") ? "SecretKeyFile" : "SecretKey")} is configured");
        if (secret is null) throw reader.Error("SecretKey", "(missing)", $"expected a secret key too, since {reader.Source(reader.Has("AccessKeyFile") ? "AccessKeyFile" : "AccessKey")} is configured");
        return new UpbitCredentials(access, secret);
    }

    private static string? SecretValue(Reader reader, string key, string fileKey)
    {
        if (reader.Has(fileKey))
        {
            var file = reader.String(fileKey, "");
            reader.FullPath(fileKey, file);
            string text;
            try
            {
                text = File.ReadAllText(file).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw reader.Error(fileKey, file, $"expected a readable file holding the key ({FirstLine(e.Message)})");
            }
            if (text.Length == 0) throw reader.Error(fileKey, file, "expected the file to hold the key, but it is empty");
            return text;
        }
        if (!reader.Has(key)) return null;
        var value = reader.String(key, "").Trim();
        return value.Length == 0 ? throw reader.Error(key, "(empty)", "expected a non-empty key") : value;
    }

    private static Dictionary<string, string?> ReadCredentialsDirectory(IReadOnlyDictionary<string, string> environment)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (!environment.TryGetValue("CREDENTIALS_DIRECTORY", out var dir) || string.IsNullOrEmpty(dir)) return data;
        foreach (var (file, key) in new[] { ("upbit-access-key", "AccessKeyFile"), ("upbit-secret-key", "SecretKeyFile"), ("db-password", "DbPasswordFile") })
        {
            // The unit gives every credential a one-newline fallback (SetCredential=), so an
            // empty credential means "no key configured", not an error.
            var path = Path.Combine(dir, file);
            if (File.Exists(path) && File.ReadAllText(path).Trim().Length > 0) data[key] = path;
        }
        return data;
    }

    private static void EnsureWritable(string dbPath, Reader reader)
    {
        var full = Path.GetFullPath(dbPath);
        if (Directory.Exists(full)) throw reader.Error("Db", dbPath, "expected a file path, but it is a directory");
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
            throw reader.Error("Db", dbPath, $"expected a writable database path ({FirstLine(e.Message)})");
        }
    }

    private static void RejectUnknownKeys(IConfigurationRoot config, SourceNames sources, IEnumerable<string> envKeys)
    {
        var known = new HashSet<string>(Keys, StringComparer.OrdinalIgnoreCase);
        foreach (var provider in config.Providers.OfType<JsonConfigurationProvider>())
        {
            foreach (var key in provider.GetChildKeys([], null).Distinct(StringComparer.OrdinalIgnoreCase))
            {
                if (!known.Contains(key))
                    throw new ConfigException($"invalid key \"{key}\" in {sources.ConfigFile}: unknown option (expected one of {string.Join(", ", Keys)})");
            }
        }
        foreach (var key in envKeys)
        {
            if (!known.Contains(key))
                throw new ConfigException($"invalid environment variable {EnvironmentPrefix}{key.ToUpperInvariant()}: unknown option (expected {EnvironmentPrefix} followed by one of {string.Join(", ", Keys.Select(k => k.ToUpperInvariant()))})");
        }
    }

    /// <summary>A config file holding a key must not be readable by every user of the machine.</summary>
    private static void RejectReadableSecrets(IConfigurationRoot config, string configFile)
    {
        var holdsKey = config.Providers.OfType<JsonConfigurationProvider>()
            .Any(p => p.TryGet("AccessKey", out _) || p.TryGet("SecretKey", out _));
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

    /// <summary>Names where a key's value came from, for error messages.</summary>
    private sealed class SourceNames(IConfigurationRoot config, string? configFile, IEnumerable<string> envKeys)
    {
        private readonly HashSet<string> _env = new(envKeys, StringComparer.OrdinalIgnoreCase);

        public string? ConfigFile { get; } = configFile;

        public string Describe(string key)
        {
            var providers = config.Providers.ToList();
            for (var i = providers.Count - 1; i >= 0; i--)
            {
                var p = providers[i];
                if (!p.TryGet(key, out _) && !p.GetChildKeys([], key).Any()) continue;
                return p switch
                {
                    JsonConfigurationProvider => $"\"{key}\" in {ConfigFile}",
                    _ when i == providers.Count - 1 => Flag(key),
                    _ when i == providers.Count - 2 => "$CREDENTIALS_DIRECTORY file for " + Flag(key),
                    _ when _env.Contains(key) => EnvironmentPrefix + key.ToUpperInvariant(),
                    _ => Flag(key),
                };
            }
            return Flag(key);
        }
    }

    /// <summary>Typed reads of configuration values with errors that name their source.</summary>
    private sealed class Reader(IConfigurationRoot config, SourceNames sources)
    {
        public bool Has(string key) => config[key] is not null || config.GetSection(key).GetChildren().Any();

        public string String(string key, string fallback) => config[key] ?? fallback;

        public IReadOnlyList<string> List(string key, string fallback)
        {
            var section = config.GetSection(key);
            var children = section.GetChildren().Select(c => c.Value).OfType<string>().ToList();
            var raw = children.Count > 0 ? children : [section.Value ?? fallback];
            return raw.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        }

        public TimeSpan Duration(string key, string fallback, TimeSpan min, TimeSpan max)
        {
            var text = String(key, fallback);
            if (!Durations.TryParseDuration(text, out var value) || value < min || value > max)
                throw Error(key, text, $"expected a duration from {Show(min)} to {Show(max)} such as 500ms, 1s, 2m");
            return value;
        }

        /// <summary>The raw text of a key, as given (a list in a JSON file is joined with commas).</summary>
        public string Raw(string key, string fallback)
        {
            var children = config.GetSection(key).GetChildren().Select(c => c.Value).OfType<string>().ToList();
            return children.Count > 0 ? string.Join(',', children) : String(key, fallback);
        }

        /// <summary>Where the key's value came from: --flag, SCRAPER_KEY, or the config file's key.</summary>
        public string Source(string key) => sources.Describe(key);

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
                throw Error(key, path, $"expected a file path ({FirstLine(e.Message)})");
            }
        }

        public ConfigException Error(string key, string value, string expected)
        {
            var shown = SecretKeys.Contains(key) ? "(value hidden)" : $"'{Printable(value)}'";
            return new ConfigException($"invalid {sources.Describe(key)} {shown}: {expected}");
        }

        private static string Show(TimeSpan t) =>
            t < TimeSpan.FromSeconds(1) ? $"{t.TotalMilliseconds:0}ms" : t < TimeSpan.FromMinutes(1) ? $"{t.TotalSeconds:0}s" : t < TimeSpan.FromHours(1) ? $"{t.TotalMinutes:0}m" : $"{t.TotalHours:0}h";
    }
}
