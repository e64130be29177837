namespace Scraper.Storage;

/// <summary>
/// The leases a scraper holds, each until one lease period after the start of the claim or renewal
/// that last granted it (the database set its expiry later than that, on its own clock). A scraper
/// cut off from the database has its renewals hang in the store's retry; without these deadlines it
/// would go on treating as its own leases that may already be another scraper's.
/// </summary>
internal sealed class LeaseDeadlines(TimeSpan period, TimeProvider time)
{
    private readonly Dictionary<WorkLease, long> _until = [];
    private readonly HashSet<WorkLease> _dropped = [];
    private readonly Lock _gate = new();

    /// <summary>The monotonic instant to pass to <see cref="Hold"/> or <see cref="Renewed"/>: take it before the claim or renewal starts.</summary>
    public long Now() => time.GetTimestamp();

    /// <summary>Holds <paramref name="lease"/> (claimed) until a lease period after <paramref name="since"/>.</summary>
    public void Hold(WorkLease lease, long since)
    {
        lock (_gate)
        {
            _until[lease] = Until(since);
            _dropped.Remove(lease);
        }
    }

    /// <summary>
    /// Holds <paramref name="lease"/> (renewed) until a lease period after <paramref name="since"/>: again if it
    /// was dropped while the renewal hung (the database still found it this scraper's), but not if it was
    /// given back meanwhile.
    /// </summary>
    public void Renewed(WorkLease lease, long since)
    {
        lock (_gate)
        {
            if (_dropped.Remove(lease) || _until.ContainsKey(lease)) _until[lease] = Math.Max(Until(since), _until.GetValueOrDefault(lease));
        }
    }

    /// <summary>Whether <paramref name="lease"/> is held and its lease period has not run out.</summary>
    public bool Holds(WorkLease lease)
    {
        lock (_gate) return _until.TryGetValue(lease, out var until) && time.GetTimestamp() < until;
    }

    /// <summary>Every lease of <paramref name="kind"/> held, expired or not.</summary>
    public IReadOnlyList<WorkLease> Held(LeaseKind kind)
    {
        lock (_gate) return [.. _until.Keys.Where(k => k.Kind == kind)];
    }

    /// <summary>Forgets <paramref name="lease"/> (given back, or lost to another scraper).</summary>
    public void Forget(WorkLease lease)
    {
        lock (_gate)
        {
            _until.Remove(lease);
            _dropped.Remove(lease);
        }
    }

    /// <summary>Stops holding every lease of <paramref name="kind"/> whose lease period ran out without a renewal; returns them.</summary>
    public IReadOnlyList<WorkLease> DropExpired(LeaseKind kind)
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            var dropped = _until.Where(u => u.Key.Kind == kind && u.Value <= now).Select(u => u.Key).ToList();
            foreach (var lease in dropped)
            {
                _until.Remove(lease);
                _dropped.Add(lease);
            }
            return dropped;
        }
    }

    private long Until(long since) => since + (long)(period.TotalSeconds * time.TimestampFrequency);
}
