namespace Scraper.Storage;

/// <summary>What the fleet's work does, for the metrics (Hosting turns these into counters).</summary>
internal interface IFleetEvents
{
    /// <summary>Leases granted; <paramref name="takenOver"/> of them had expired in another scraper's hands.</summary>
    void Claimed(LeaseKind kind, int leases, int takenOver);

    /// <summary>A renewal failed: <paramref name="leases"/> were lost (or could not be renewed).</summary>
    void RenewalFailed(LeaseKind kind, int leases);

    /// <summary>Leases no longer treated as held: their lease period ran out without a renewal (the database was unreachable).</summary>
    void LeasesDropped(LeaseKind kind, int leases);

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
