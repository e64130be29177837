namespace Scraper.Storage;

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

    /// <summary>
    /// The leases of <paramref name="kind"/> this scraper holds: granted, and not given back, lost or
    /// dropped since (one whose period ran out is among them until <see cref="DropExpired"/>).
    /// </summary>
    IReadOnlyList<WorkLease> Held(LeaseKind kind);

    /// <summary>
    /// Whether <paramref name="lease"/> is this scraper's now: held, and the claim or renewal that last
    /// granted it started less than a lease period ago, however long that renewal hung in the store's
    /// retry (the database unreachable): meanwhile the database may have given it to another scraper.
    /// </summary>
    bool Holds(WorkLease lease);

    /// <summary>Stops holding the leases of <paramref name="kind"/> whose lease period ran out without a renewal; returns them.</summary>
    IReadOnlyList<WorkLease> DropExpired(LeaseKind kind);
}

