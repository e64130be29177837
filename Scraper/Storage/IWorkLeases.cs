using Scraper.Domain;

namespace Scraper.Storage;

/// <summary>What a lease is for.</summary>
internal enum LeaseKind
{
    /// <summary>A chunk of windows of one series to fetch (a backfill's or a follow pass's).</summary>
    Windows,
    /// <summary>Following one series: one scraper of a fleet follows it at a time.</summary>
    Follow,
}

/// <summary>
/// A claim on part of the shared work. <paramref name="Start"/> is the start of a chunk of windows
/// for <see cref="LeaseKind.Windows"/>, <see cref="DateTimeOffset.UnixEpoch"/> for a follow lease.
/// </summary>
internal sealed record WorkLease(LeaseKind Kind, SeriesKey Series, DateTimeOffset Start)
{
    /// <summary>The follow lease of a series.</summary>
    public static WorkLease Follow(SeriesKey series) => new(LeaseKind.Follow, series, DateTimeOffset.UnixEpoch);

    /// <inheritdoc />
    public override string ToString() => Kind == LeaseKind.Follow ? $"follow {Series}" : $"{Series} chunk {Start.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}";
}

/// <summary>
/// Leases on shared work, held in the database that several scrapers share. A lease is granted to
/// one scraper at a time until it is released or expires; its holder renews it while working. A
/// scraper that dies stops renewing, and once its leases have expired the others take them over.
/// </summary>
internal interface IWorkLeases : IDisposable
{
    /// <summary>False for a store only one scraper uses: every lease is granted at once and never lost.</summary>
    bool IsShared { get; }

    /// <summary>This scraper's identity in the fleet (hostname-pid by default).</summary>
    string Instance { get; }

    /// <summary>How long a lease lasts unless renewed; holders renew every third of it.</summary>
    TimeSpan Period { get; }

    /// <summary>
    /// Claims up to <paramref name="max"/> of <paramref name="candidates"/> that nobody holds or whose
    /// lease has expired; returns those granted, each with whether it was taken over from another scraper.
    /// </summary>
    IReadOnlyList<(WorkLease Lease, bool TakenOver)> Claim(IReadOnlyCollection<WorkLease> candidates, int max);

    /// <summary>Extends <paramref name="held"/>; returns those still held (the others were lost to another scraper).</summary>
    IReadOnlyCollection<WorkLease> Renew(IReadOnlyCollection<WorkLease> held);

    /// <summary>Gives leases back at once, so others need not wait for them to expire.</summary>
    void Release(IReadOnlyCollection<WorkLease> leases);

    /// <summary>Says this scraper is alive; returns how many scrapers are (itself included).</summary>
    int Heartbeat();

    /// <summary>Leases of a kind this scraper holds now.</summary>
    int Held(LeaseKind kind);
}

/// <summary>What the fleet's work does, for the metrics (Hosting turns these into counters).</summary>
internal interface IFleetEvents
{
    /// <summary>Leases granted; <paramref name="takenOver"/> of them had expired in another scraper's hands.</summary>
    void Claimed(LeaseKind kind, int leases, int takenOver);

    /// <summary>A renewal failed: <paramref name="leases"/> were lost (or could not be renewed).</summary>
    void RenewalFailed(LeaseKind kind, int leases);

    /// <summary>Windows to fetch found in a claimed chunk; <paramref name="takenOver"/> when the chunk was taken over.</summary>
    void WindowsClaimed(int windows, bool takenOver);

    /// <summary>Windows of a claimed chunk that ended (fetched or skipped).</summary>
    void WindowsCompleted(int windows);

    /// <summary>Chunks of the running pass that are not done yet (by anyone).</summary>
    void Pending(int chunks);

    /// <summary>Scrapers alive in the fleet.</summary>
    void Members(int count);

    /// <summary>One lease statement's round trip, or its failure.</summary>
    void DatabaseCall(TimeSpan elapsed, bool failed);
}

/// <summary>The leases of a store that one scraper uses alone (SQLite): everything is granted, nothing expires.</summary>
internal sealed class LocalWorkLeases : IWorkLeases
{
    /// <inheritdoc />
    public bool IsShared => false;

    /// <inheritdoc />
    public string Instance { get; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <inheritdoc />
    public TimeSpan Period => Timeout.InfiniteTimeSpan;

    /// <inheritdoc />
    public IReadOnlyList<(WorkLease Lease, bool TakenOver)> Claim(IReadOnlyCollection<WorkLease> candidates, int max) =>
        [.. candidates.Take(max).Select(c => (c, false))];

    /// <inheritdoc />
    public IReadOnlyCollection<WorkLease> Renew(IReadOnlyCollection<WorkLease> held) => held;

    /// <inheritdoc />
    public void Release(IReadOnlyCollection<WorkLease> leases) { }

    /// <inheritdoc />
    public int Heartbeat() => 1;

    /// <inheritdoc />
    public int Held(LeaseKind kind) => 0;

    /// <inheritdoc />
    public void Dispose() { }
}
