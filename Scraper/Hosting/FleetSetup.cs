using Microsoft.Extensions.Logging;
using Scraper.Metrics;
using Scraper.Pipeline;
using Scraper.Storage;
using Scraper.Storage.Postgres;

namespace Scraper.Hosting;

/// <summary>
/// Wires the sharing of work: leases in the PostgreSQL database (with their metrics) when --db is
/// PostgreSQL, local leases that grant everything for SQLite. The metrics listen to the leases'
/// and the pipeline's events here, so neither of them knows about Prometheus. In a fleet
/// scraper_following is 1 only for the series whose follow lease this scraper holds.
/// </summary>
internal static partial class FleetSetup
{
    /// <summary>The fleet hook for the collector; dispose its <see cref="FleetWork.Leases"/> after the collector has stopped.</summary>
    public static FleetWork Open(ScraperSettings settings, ICandleStore store, ScraperMetrics metrics, ILoggerFactory loggers, ProgramContext app)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(loggers);
        if (!PostgresConnectionSettings.IsPostgres(settings.DbPath)) return new FleetWork(new LocalWorkLeases(), store, null, app.Time, loggers);

        var fleet = new FleetMetrics(metrics.Registry, settings.Instance);
        var events = new FleetMetricsEvents(fleet);
        var connection = PostgresConnectionSettings.Parse(settings.DbPath, StoreFactory.ReadPassword(settings.DbPasswordFile));
        var logger = loggers.CreateLogger("Scraper.Fleet");
        var leases = PostgresWorkLeases.Open(connection, settings.Instance, settings.LeasePeriod, app.Time, new PostgresStoreOptions
        {
            Availability = new StoreAvailabilityLog(logger, metrics, app.Time),
            Stop = app.Stop,
        }, events);
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            fleet.LeasesHeld.WithLabels("windows").Set(leases.Held(LeaseKind.Windows).Count(leases.Holds));
            fleet.LeasesHeld.WithLabels("follow").Set(leases.Held(LeaseKind.Follow).Count(leases.Holds));
        });
        LogJoined(logger, settings.Instance, connection.Target, settings.LeasePeriod.TotalSeconds);
        var work = new FleetWork(leases, store, events, app.Time, loggers);
        work.Followed.Subscribe(held =>
        {
            foreach (var key in settings.Series) metrics.Following.WithLabels(key.Market, key.Unit.Name).Set(held.Contains(key) ? 1 : 0);
        }, onError: e => LogFollowingMetricFailed(logger, e.GetType().Name, e.Message));
        return work;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "scraper_following stopped following the follow leases: {Type}: {Message}")]
    private static partial void LogFollowingMetricFailed(ILogger logger, string type, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "sharing the work with every scraper on {Target} as {Instance}: leases of {Seconds:0.#} s")]
    private static partial void LogJoined(ILogger logger, string instance, string target, double seconds);

    private sealed class FleetMetricsEvents(FleetMetrics metrics) : IFleetEvents
    {
        public void Claimed(LeaseKind kind, int leases, int takenOver)
        {
            metrics.LeasesClaimed.WithLabels(Name(kind)).Inc(leases);
            metrics.LeasesTakenOver.WithLabels(Name(kind)).Inc(takenOver);
        }

        public void RenewalFailed(LeaseKind kind, int leases) => metrics.RenewalsFailed.WithLabels(Name(kind)).Inc(leases);

        public void LeasesDropped(LeaseKind kind, int leases) => metrics.LeasesDropped.WithLabels(Name(kind)).Inc(leases);

        public void WindowsClaimed(int windows, bool takenOver)
        {
            metrics.WindowsClaimed.Inc(windows);
            if (takenOver) metrics.WindowsTakenOver.Inc(windows);
        }

        public void WindowsCompleted(int windows) => metrics.WindowsCompleted.Inc(windows);

        public void Pending(int chunks) => metrics.PendingChunks.Set(chunks);

        public void Members(int count) => metrics.Members.Set(count);

        public void DatabaseCall(TimeSpan elapsed, bool failed)
        {
            if (failed) metrics.DatabaseErrors.Inc();
            else metrics.DatabaseRoundTrip.Observe(elapsed.TotalSeconds);
        }

        private static string Name(LeaseKind kind) => kind == LeaseKind.Follow ? "follow" : "windows";
    }
}
