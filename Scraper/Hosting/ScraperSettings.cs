using System.Net;
using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Metrics;

namespace Scraper.Hosting;

/// <summary>The validated configuration of one run. Built only by <see cref="SettingsLoader"/>.</summary>
internal sealed record ScraperSettings
{
    /// <summary>Base URL of the exchange.</summary>
    public required Uri UpbitUrl { get; init; }
    /// <summary>Markets to collect, e.g. KRW-BTC.</summary>
    public required IReadOnlyList<string> Markets { get; init; }
    /// <summary>Candle units to collect.</summary>
    public required IReadOnlyList<CandleUnit> Units { get; init; }
    /// <summary>Start of the wanted history.</summary>
    public required DateTimeOffset Since { get; init; }
    /// <summary>End of the wanted history; null: now, moving.</summary>
    public DateTimeOffset? Until { get; init; }
    /// <summary>The SQLite file, or a PostgreSQL connection string (see StoreFactory).</summary>
    public required string DbPath { get; init; }
    /// <summary>File holding the PostgreSQL password, when configured.</summary>
    public string? DbPasswordFile { get; init; }
    /// <summary>This scraper's name in a fleet sharing one PostgreSQL database.</summary>
    public string Instance { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}";
    /// <summary>How long a lease on shared work lasts unless renewed (PostgreSQL only).</summary>
    public TimeSpan LeasePeriod { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Where /metrics listens.</summary>
    public required ListenAddress Listen { get; init; }
    /// <summary>Requests per second per rate-limit group.</summary>
    public required int Rate { get; init; }
    /// <summary>Places of each rate window left to other clients on the same IP.</summary>
    public int ReserveForOthers { get; init; }
    /// <summary>The local address exchange requests leave from; null: the system's choice.</summary>
    public IPAddress? BindAddress { get; init; }
    /// <summary>How often the ticker is fetched.</summary>
    public required TimeSpan TickerInterval { get; init; }
    /// <summary>Timeout of one HTTP request.</summary>
    public required TimeSpan RequestTimeout { get; init; }
    /// <summary>API keys, when configured (never printed: the record's ToString redacts them).</summary>
    public UpbitCredentials? Credentials { get; init; }
    /// <summary>Lowest log level written.</summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; init; } = Microsoft.Extensions.Logging.LogLevel.Information;

    /// <summary>Where live minute candles come from.</summary>
    public Pipeline.Live.LiveSource Live { get; init; } = Pipeline.Live.LiveSource.Stream;
    /// <summary>How often streamed series are reconciled by REST.</summary>
    public TimeSpan ReconcileEvery { get; init; } = TimeSpan.FromHours(3);
    /// <summary>Keep-alive period of the stream.</summary>
    public TimeSpan StreamPing { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Every configured series, markets × units.</summary>
    public IReadOnlyList<SeriesKey> Series => [.. Markets.SelectMany(m => Units.Select(u => new SeriesKey(m, u)))];
}
