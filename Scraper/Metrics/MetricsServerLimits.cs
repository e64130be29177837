namespace Scraper.Metrics;

/// <summary>How much of the daemon one scraper, or a crowd of them, may hold.</summary>
internal sealed record MetricsServerLimits
{
    /// <summary>
    /// Connections held at once. When all are taken, a new connection closes the one idle the
    /// longest (one that sent nothing yet, or is between requests) instead of being refused, so
    /// idle or half-sent connections cannot lock a scraper out.
    /// </summary>
    public int MaxConnections { get; init; } = 1000;

    /// <summary>How long a client may take to send a request head once it started one.</summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a connection may wait for its next request; longer than a 60 s scrape interval.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(65);

    /// <summary>
    /// /metrics responses started per second at most (a Prometheus scrapes once every 15 s), so a
    /// crowd of scrapers cannot take the collector's CPU. A scrape over the rate waits its turn,
    /// and gives it back if it hangs up; /healthz never waits.
    /// </summary>
    public int MaxScrapesPerSecond { get; init; } = 100;

    /// <summary>Scrapes that may wait for a turn; more are answered 503 at once.</summary>
    public int MaxWaitingScrapes { get; init; } = 500;

    /// <summary>Request line plus headers; a Prometheus request head is under 1 KiB.</summary>
    public int MaxRequestHeadBytes { get; init; } = 8 * 1024;

    /// <summary>
    /// Limits for a process allowed <paramref name="descriptors"/> open files, <paramref name="open"/>
    /// of them open already: connections (and those still closing) take at most half of the
    /// rest, so the collector (database, exchange connections, runtime) keeps the other half;
    /// and never more than 1,000, about 12 MiB of idle connections.
    /// </summary>
    public static MetricsServerLimits ForDescriptorLimit(long descriptors, int open) =>
        new() { MaxConnections = (int)Math.Clamp((descriptors - open) / 2 - ClosingHeadroom, 16, 1_000) };

    /// <summary>Connections beyond <see cref="MaxConnections"/> that Kestrel still admits: evicted ones take a moment to close.</summary>
    internal const int ClosingHeadroom = 32;
}
