using Scraper.Storage;

namespace Scraper.Tests.Fleet;

/// <summary>
/// The leases of a scraper in a fleet, kept as the PostgreSQL store keeps them (each held for a lease
/// period from the start of the claim or renewal that granted it). Alone unless <see cref="OthersHoldAll"/>:
/// every lease it has not claimed is free. Every statement fails while the database is <see cref="Down"/>,
/// as the store's retry gives up when it may not wait (at a stop, or on a permanent error).
/// </summary>
internal sealed class TestLeases(TimeSpan period, TimeProvider time) : IWorkLeases
{
    private readonly LeaseDeadlines _held = new(period, time);
    private readonly HashSet<WorkLease> _owned = []; // the database's side: claimed, not released
    private volatile bool _down;
    private volatile bool _othersHoldAll;
    private int _claims;
    private int _granted;

    /// <summary>Another scraper holds every lease: claims grant nothing.</summary>
    public bool OthersHoldAll
    {
        get => _othersHoldAll;
        set => _othersHoldAll = value;
    }

    /// <summary>Claims made (granted or not).</summary>
    public int Claims => Volatile.Read(ref _claims);

    /// <summary>Leases granted in all.</summary>
    public int Granted => Volatile.Read(ref _granted);

    public bool IsShared => true;

    public string Instance => "me";

    public TimeSpan Period => period;

    /// <summary>The database is gone: every statement fails until <see cref="Up"/>.</summary>
    public void Down() => _down = true;

    public void Up() => _down = false;

    public IReadOnlyList<(WorkLease Lease, bool TakenOver)> Claim(IReadOnlyCollection<WorkLease> candidates, int max)
    {
        var claiming = _held.Now();
        Reachable();
        Interlocked.Increment(ref _claims);
        if (OthersHoldAll) return [];
        var granted = candidates.Take(max).ToList();
        lock (_owned) _owned.UnionWith(granted);
        foreach (var lease in granted) _held.Hold(lease, claiming);
        Interlocked.Add(ref _granted, granted.Count);
        return [.. granted.Select(g => (g, false))];
    }

    public IReadOnlyCollection<WorkLease> Renew(IReadOnlyCollection<WorkLease> held)
    {
        var renewing = _held.Now();
        Reachable();
        List<WorkLease> kept;
        lock (_owned) kept = [.. held.Where(_owned.Contains)];
        foreach (var lease in kept) _held.Renewed(lease, renewing);
        foreach (var lease in held.Except(kept)) _held.Forget(lease);
        return kept;
    }

    public void Release(IReadOnlyCollection<WorkLease> leases)
    {
        foreach (var lease in leases) _held.Forget(lease);
        Reachable();
        lock (_owned) _owned.ExceptWith(leases);
    }

    public int Heartbeat()
    {
        Reachable();
        return 1;
    }

    public IReadOnlyList<WorkLease> Held(LeaseKind kind) => _held.Held(kind);

    public bool Holds(WorkLease lease) => _held.Holds(lease);

    public IReadOnlyList<WorkLease> DropExpired(LeaseKind kind) => _held.DropExpired(kind);

    public void Dispose() { }

    private void Reachable()
    {
        if (_down) throw new StoreException("127.0.0.1:5432/candles: the database is unreachable");
    }
}
