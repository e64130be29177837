using Prometheus;

namespace Scraper.Metrics;

/// <summary>
/// What an operator of several scrapers sharing one PostgreSQL database needs: this scraper's name,
/// the leases it holds, windows claimed, completed and taken over from a dead scraper, lease
/// renewals that failed, the scrapers alive, and the round trip and errors of the lease statements.
/// Registered only when the store is shared (PostgreSQL). Labels: kind (windows, follow), scraper.
/// </summary>
internal sealed class FleetMetrics
{
    private static readonly string[] Kind = ["kind"];

    /// <summary>Creates the fleet metrics in <paramref name="registry"/> for the scraper named <paramref name="instance"/>.</summary>
    public FleetMetrics(CollectorRegistry registry, string instance)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        f.CreateGauge("scraper_fleet_info", "This scraper's name in the fleet (--instance).", "scraper").WithLabels(instance).Set(1);
        LeasesHeld = f.CreateGauge("scraper_fleet_leases_held", "Leases this scraper holds now: chunks of windows, or series it follows.", Kind);
        LeasesClaimed = f.CreateCounter("scraper_fleet_leases_claimed_total", "Leases granted to this scraper.", Kind);
        LeasesTakenOver = f.CreateCounter("scraper_fleet_leases_taken_over_total", "Leases granted after they had expired in another scraper's hands.", Kind);
        RenewalsFailed = f.CreateCounter("scraper_fleet_lease_renewals_failed_total", "Leases that could not be renewed (lost to another scraper, or the database failed).", Kind);
        LeasesDropped = f.CreateCounter("scraper_fleet_leases_dropped_total", "Leases this scraper stopped treating as held because their period ran out without a renewal (the database was unreachable).", Kind);
        WindowsClaimed = f.CreateCounter("scraper_fleet_windows_claimed_total", "Windows to fetch found in chunks this scraper claimed.");
        WindowsTakenOver = f.CreateCounter("scraper_fleet_windows_taken_over_total", "Windows of chunks taken over from a scraper whose lease had expired.");
        WindowsCompleted = f.CreateCounter("scraper_fleet_windows_completed_total", "Windows of claimed chunks that ended (fetched or skipped).");
        PendingChunks = f.CreateGauge("scraper_fleet_pending_chunks", "Chunks of the running pass not done yet, by this scraper or another; 0 between passes.");
        Members = f.CreateGauge("scraper_fleet_members", "Scrapers alive in the fleet, as this one sees them.");
        DatabaseRoundTrip = f.CreateHistogram("scraper_fleet_db_round_trip_seconds", "Round trip of lease statements to the database.",
            new HistogramConfiguration { Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
        DatabaseErrors = f.CreateCounter("scraper_fleet_db_errors_total", "Lease statements that failed (each attempt; transient ones are retried).");

        foreach (var kind in new[] { "windows", "follow" })
        {
            LeasesHeld.WithLabels(kind).Set(0);
            LeasesClaimed.WithLabels(kind).Inc(0);
            LeasesTakenOver.WithLabels(kind).Inc(0);
            RenewalsFailed.WithLabels(kind).Inc(0);
            LeasesDropped.WithLabels(kind).Inc(0);
        }
        PendingChunks.Set(0);
    }

#pragma warning disable CS1591 // the help texts above document each metric
    public Gauge LeasesHeld { get; }
    public Counter LeasesClaimed { get; }
    public Counter LeasesTakenOver { get; }
    public Counter RenewalsFailed { get; }
    public Counter LeasesDropped { get; }
    public Counter WindowsClaimed { get; }
    public Counter WindowsTakenOver { get; }
    public Counter WindowsCompleted { get; }
    public Gauge PendingChunks { get; }
    public Gauge Members { get; }
    public Histogram DatabaseRoundTrip { get; }
    public Counter DatabaseErrors { get; }
#pragma warning restore CS1591
}
