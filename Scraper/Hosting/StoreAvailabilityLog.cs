using Microsoft.Extensions.Logging;
using Scraper.Metrics;
using Scraper.Storage.Postgres;

namespace Scraper.Hosting;

/// <summary>
/// Turns the store's reports about an unavailable database into log lines and metrics: a warning
/// when it goes away (then at most one a minute while it stays away), one line when it is back,
/// <c>scraper_store_available</c> 0 meanwhile and a count of failed attempts.
/// </summary>
internal sealed partial class StoreAvailabilityLog(ILogger logger, ScraperMetrics? metrics, TimeProvider time) : IStoreAvailability
{
    private static readonly TimeSpan RepeatEvery = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private long? _lastWarning;

    /// <inheritdoc />
    public void Unavailable(string target, string error, TimeSpan retryIn)
    {
        metrics?.StoreAvailable.Set(0);
        metrics?.StoreConnectionFailures.Inc();
        lock (_gate)
        {
            if (_lastWarning is { } last && time.GetElapsedTime(last) < RepeatEvery) return;
            _lastWarning = time.GetTimestamp();
        }
        LogUnavailable(logger, target, error, retryIn.TotalSeconds);
    }

    /// <inheritdoc />
    public void Available(string target, TimeSpan unavailableFor)
    {
        metrics?.StoreAvailable.Set(1);
        lock (_gate) _lastWarning = null;
        LogAvailable(logger, target, unavailableFor.TotalSeconds);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "database {Target} unavailable ({Error}); waiting for it, next attempt in {Seconds:0.##} s (nothing is lost: unsaved responses are written once it is back)")]
    private static partial void LogUnavailable(ILogger logger, string target, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "database {Target} available again after {Seconds:0.#} s")]
    private static partial void LogAvailable(ILogger logger, string target, double seconds);
}
