namespace Scraper.Storage;

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

    /// <summary>Nothing: alone, a scraper keeps no leases.</summary>
    public IReadOnlyList<WorkLease> Held(LeaseKind kind) => [];

    /// <summary>Every lease: alone, all the work is this scraper's.</summary>
    public bool Holds(WorkLease lease) => true;

    /// <inheritdoc />
    public IReadOnlyList<WorkLease> DropExpired(LeaseKind kind) => [];

    /// <inheritdoc />
    public void Dispose() { }
}
