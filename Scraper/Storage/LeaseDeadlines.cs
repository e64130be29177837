using System.Collections.Concurrent;

namespace Scraper.Storage;

/// <summary>
/// The leases a scraper holds, each until one lease period after the start of the claim or renewal
/// that last granted it (the database set its expiry later than that, on its own clock). A scraper
/// cut off from the database has its renewals hang in the store's retry; without these deadlines it
/// would go on treating as its own leases that may already be another scraper's.
/// </summary>
internal sealed class LeaseDeadlines(TimeSpan period, TimeProvider time)
{
    private readonly ConcurrentDictionary<WorkLease, long> _until = new();

    /// <summary>The monotonic instant to pass to <see cref="Hold"/> or <see cref="Extend"/>: take it before the claim or renewal starts.</summary>
    public long Now() => time.GetTimestamp();

    /// <summary>Holds <paramref name="lease"/> (claimed) until a lease period after <paramref name="since"/>.</summary>
    public void Hold(WorkLease lease, long since) => _until[lease] = Until(since);

    /// <summary>
    /// Holds <paramref name="lease"/> (renewed) until a lease period after <paramref name="since"/>, if it is
    /// still held: one given back or dropped while its renewal was under way stays so, and is claimed afresh.
    /// </summary>
    public void Extend(WorkLease lease, long since)
    {
        var until = Until(since);
        while (_until.TryGetValue(lease, out var before) && before < until && !_until.TryUpdate(lease, until, before))
        {
        }
    }

    /// <summary>Whether <paramref name="lease"/> is held and its lease period has not run out.</summary>
    public bool Holds(WorkLease lease) => _until.TryGetValue(lease, out var until) && time.GetTimestamp() < until;

    /// <summary>Every lease of <paramref name="kind"/> held, expired or not.</summary>
    public IReadOnlyList<WorkLease> Held(LeaseKind kind) => [.. _until.Keys.Where(k => k.Kind == kind)];

    /// <summary>Forgets <paramref name="lease"/>.</summary>
    public void Forget(WorkLease lease) => _until.TryRemove(lease, out _);

    /// <summary>Forgets every lease of <paramref name="kind"/> whose lease period ran out without a renewal; returns them.</summary>
    public IReadOnlyList<WorkLease> DropExpired(LeaseKind kind)
    {
        var now = time.GetTimestamp();
        var dropped = new List<WorkLease>();
        foreach (var (lease, until) in _until)
        {
            if (lease.Kind == kind && until <= now && _until.TryRemove(new KeyValuePair<WorkLease, long>(lease, until))) dropped.Add(lease);
        }
        return dropped;
    }

    private long Until(long since) => since + (long)(period.TotalSeconds * time.TimestampFrequency);
}
