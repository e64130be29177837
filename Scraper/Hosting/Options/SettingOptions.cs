using Scraper.Domain;
using Scraper.Metrics;

namespace Scraper.Hosting.Options;

/// <summary>
/// The one table of settings, in --help order. Each entry's parse function validates that option
/// alone; checks between options (--since before --until, both keys or none, a writable
/// database) stay in <see cref="SettingsLoader"/>.
/// </summary>
internal static class SettingOptions
{
    /// <summary>Exchange base URL.</summary>
    public static readonly SettingOption<Uri> UpbitUrl = new()
    {
        Key = "UpbitUrl", HelpName = "URL", Help = "Exchange base URL", Default = "https://api.upbit.com",
        Parse = OptionParsers.HttpUrl,
    };

    /// <summary>Markets to collect.</summary>
    public static readonly SettingOption<IReadOnlyList<string>> Markets = new()
    {
        Key = "Markets", HelpName = "LIST", Help = "Markets, comma-separated", Default = "KRW-BTC",
        Parse = OptionParsers.Markets,
    };

    /// <summary>Candle units to collect.</summary>
    public static readonly SettingOption<IReadOnlyList<CandleUnit>> Units = new()
    {
        Key = "Units", HelpName = "LIST", Help = "Minute units 1,3,5,10,15,30,60,240 and/or day", Default = "1",
        Parse = OptionParsers.Units,
    };

    /// <summary>Start of the history.</summary>
    public static readonly SettingOption<DateTimeOffset> Since = new()
    {
        Key = "Since", HelpName = "T", Help = "Start of the history: ISO date/time or an age such as 30d, 12h, 2w", Default = "30d",
        Parse = v => OptionParsers.Instant(v, v.Text, $"expected an ISO date or date-time (2025-01-31, 2025-01-31T12:00:00Z) or an age such as 30d, 12h, not before {OptionParsers.EarliestSince:yyyy-MM-dd}"),
    };

    /// <summary>End of the history; null: now, moving.</summary>
    public static readonly SettingOption<DateTimeOffset?> Until = new()
    {
        Key = "Until", HelpName = "T", Help = "End of the history for backfill/verify", Default = "now",
        Parse = v => v.IsSet ? OptionParsers.Instant(v, v.Text, $"expected an ISO date or date-time or an age such as 1d, not before {OptionParsers.EarliestSince:yyyy-MM-dd}") : null,
    };

    /// <summary>The database: a SQLite file or a PostgreSQL connection string.</summary>
    public static readonly SettingOption<DatabaseLocation> Db = new()
    {
        Key = "Db", HelpName = "PATH|URL", Default = "./data/candles.db",
        Help = "SQLite file (under systemd $STATE_DIRECTORY/candles.db) or PostgreSQL database: postgres://USER@HOST:5432/DB?sslmode=verify-full or Host=…;Database=…;Username=…",
        Parse = OptionParsers.Database,
    };

    /// <summary>File holding the PostgreSQL password.</summary>
    public static readonly SettingOption<string?> DbPasswordFile = new()
    {
        Key = "DbPasswordFile", HelpName = "FILE", Help = "File holding the PostgreSQL password; without one, PGPASSWORD or ~/.pgpass", Credential = "db-password",
        Parse = v => v.IsSet ? v.FullPath(v.Text) : null,
    };

    /// <summary>This scraper's name among the scrapers sharing one PostgreSQL database.</summary>
    public static readonly SettingOption<string> Instance = new()
    {
        Key = "Instance", HelpName = "NAME", Default = "HOSTNAME-PID",
        Help = "This scraper's name in a fleet sharing one PostgreSQL database (leases, metrics)",
        Parse = v => v.IsSet ? OptionParsers.Instance(v) : $"{Environment.MachineName}-{Environment.ProcessId}",
    };

    /// <summary>How long a lease on shared work lasts unless renewed.</summary>
    public static readonly SettingOption<TimeSpan> LeasePeriod = new()
    {
        Key = "LeasePeriod", HelpName = "DURATION", Default = "30s",
        Help = "PostgreSQL fleet: how long a lease on windows or on following a series lasts unless renewed; a dead scraper's work is taken over after it",
        Parse = v => OptionParsers.Duration(v, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)),
    };

    /// <summary>Where /metrics listens.</summary>
    public static readonly SettingOption<ListenAddress> Listen = new()
    {
        Key = "Listen", HelpName = "HOST:PORT", Help = "Metrics endpoint HOST:PORT; 127.0.0.1:8081 for this machine only", Default = "0.0.0.0:8081",
        Parse = v => ListenAddress.TryParse(v.Text, out var error) ?? throw v.Error(v.Text, error),
    };

    /// <summary>Requests per second per rate-limit group.</summary>
    public static readonly SettingOption<int> Rate = new()
    {
        Key = "Rate", HelpName = "N", Help = "Requests per second per rate-limit group", Default = "10",
        Parse = OptionParsers.Rate,
    };

    /// <summary>Places of each rate window left to other clients on the same IP.</summary>
    public static readonly SettingOption<int> ReserveForOthers = new()
    {
        Key = "ReserveForOthers", HelpName = "N", Default = "0",
        Help = "Places of each rate window left free for other clients on this IP (another scraper, a manual backfill, other tools): with 1 on every process on the IP, none of them is refused (2 when two may start within two seconds of each other), at a cost of about 1/N of a lone process's rate",
        Parse = OptionParsers.Reserve,
    };

    /// <summary>The local address exchange requests leave from.</summary>
    public static readonly SettingOption<System.Net.IPAddress?> BindAddress = new()
    {
        Key = "BindAddress", HelpName = "IP",
        Help = "Local address the exchange requests leave from (the exchange limits each source IP); none: the system's choice",
        Parse = v => v.IsSet ? OptionParsers.LocalAddress(v) : null,
    };

    /// <summary>How often the ticker is fetched.</summary>
    public static readonly SettingOption<TimeSpan> TickerInterval = new()
    {
        Key = "TickerInterval", HelpName = "DURATION", Help = "How often the ticker is fetched by REST when the stream does not deliver it (--live poll, stream down, a market silent on the stream)", Default = "1s",
        Parse = v => OptionParsers.Duration(v, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1)),
    };

    /// <summary>Timeout of one HTTP request.</summary>
    public static readonly SettingOption<TimeSpan> RequestTimeout = new()
    {
        Key = "RequestTimeout", HelpName = "DURATION", Help = "Timeout of one HTTP request", Default = "10s",
        Parse = v => OptionParsers.Duration(v, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5)),
    };

    /// <summary>Where live minute candles come from.</summary>
    public static readonly SettingOption<Pipeline.Live.LiveSource> Live = new()
    {
        Key = "Live", HelpName = "stream|poll", Default = "stream",
        Help = "Live minute candles from the WebSocket stream (REST reconciles them; polling while the stream is unavailable) or by REST polling after every close",
        Parse = v => v.Text.Trim().ToLowerInvariant() switch
        {
            "stream" => Pipeline.Live.LiveSource.Stream,
            "poll" => Pipeline.Live.LiveSource.Poll,
            _ => throw v.Error(v.Text, "expected stream or poll"),
        },
    };

    /// <summary>How often streamed series are reconciled by REST.</summary>
    public static readonly SettingOption<TimeSpan> ReconcileEvery = new()
    {
        Key = "ReconcileEvery", HelpName = "DURATION", Help = "How often REST reconciles (and marks complete) streamed 1-minute candles, besides after every reconnection; longer units proportionally, at most daily", Default = "3h",
        Parse = v => OptionParsers.Duration(v, TimeSpan.FromSeconds(5), TimeSpan.FromDays(1)),
    };

    /// <summary>Keep-alive period of the stream.</summary>
    public static readonly SettingOption<TimeSpan> StreamPing = new()
    {
        Key = "StreamPing", HelpName = "DURATION", Help = "How often the stream is pinged; a connection silent for 1.5 times this long is replaced", Default = "30s",
        Parse = v => OptionParsers.Duration(v, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(100)),
    };

    /// <summary>The Upbit access key given as a value.</summary>
    public static readonly SettingOption<string?> AccessKey = new()
    {
        Key = "AccessKey", HelpName = "KEY", Help = "Upbit access key (prefer --access-key-file or systemd credentials)", Secret = true,
        Parse = OptionParsers.Key,
    };

    /// <summary>The Upbit secret key given as a value.</summary>
    public static readonly SettingOption<string?> SecretKey = new()
    {
        Key = "SecretKey", HelpName = "KEY", Help = "Upbit secret key (prefer --secret-key-file or systemd credentials)", Secret = true,
        Parse = OptionParsers.Key,
    };

    /// <summary>The Upbit access key read from a file (its content, not the path).</summary>
    public static readonly SettingOption<string?> AccessKeyFile = new()
    {
        Key = "AccessKeyFile", HelpName = "FILE", Help = "File holding the access key", Credential = "upbit-access-key",
        Parse = OptionParsers.KeyFile,
    };

    /// <summary>The Upbit secret key read from a file (its content, not the path).</summary>
    public static readonly SettingOption<string?> SecretKeyFile = new()
    {
        Key = "SecretKeyFile", HelpName = "FILE", Help = "File holding the secret key", Credential = "upbit-secret-key",
        Parse = OptionParsers.KeyFile,
    };

    /// <summary>Lowest log level written.</summary>
    public static readonly SettingOption<Microsoft.Extensions.Logging.LogLevel> LogLevel = new()
    {
        Key = "LogLevel", HelpName = "LEVEL", Default = "Information",
        Help = $"{OptionParsers.LogLevelList}; None is refused: it would hide the Critical line of a failing database",
        Parse = OptionParsers.LogLevel,
    };

    /// <summary>Every setting, in --help order.</summary>
    public static readonly IReadOnlyList<SettingOption> All =
    [
        UpbitUrl, Markets, Units, Since, Until, Db, DbPasswordFile, Instance, LeasePeriod, Listen, Rate, ReserveForOthers, BindAddress, TickerInterval, RequestTimeout,
        Live, ReconcileEvery, StreamPing,
        AccessKey, SecretKey, AccessKeyFile, SecretKeyFile, LogLevel,
    ];

    /// <summary>The setting of a configuration key (any case), or null.</summary>
    public static SettingOption? Find(string key) => All.FirstOrDefault(o => o.Key.Equals(key, StringComparison.OrdinalIgnoreCase));
}
