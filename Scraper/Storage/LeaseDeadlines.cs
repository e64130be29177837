using System.Collections.Concurrent;

namespace Scraper.Storage;

/// <summary>
/// The leases a scraper holds, each until one lease period after the start of the claim or renewal
/// that last granted it (the database set its expiry later than that, on its own clock). A scraper
/// cut off from the database has its renewals hang in the store's retry; without these deadlines it
/// would go on treating as its own leases that may already be another scraper's.
/// </summary>
internal sealed class LeaseDeadlines<TKey>(TimeSpan period, TimeProvider time) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, long> _until = new();

    /// <summary>The monotonic instant to pass to <see cref="Hold"/>: take it before the claim or renewal starts.</summary>
    public long Now() => time.GetTimestamp();

    /// <summary>Holds <paramref name="key"/> until a lease period after <paramref name="since"/>.</summary>
    public void Hold(TKey key, long since) => _until[key] = since + (long)(period.TotalSeconds * time.TimestampFrequency);

    /// <summary>Whether <paramref name="key"/> is held and its lease period has not run out.</summary>
    public bool Holds(TKey key) => _until.TryGetValue(key, out var until) && time.GetTimestamp() < until;

    /// <summary>Every key held, expired or not.</summary>
    public IReadOnlyList<TKey> Keys => [.. _until.Keys];

    /// <summary>How many keys are held.</summary>
    public int Count => _until.Count;

    /// <summary>Forgets <paramref name="key"/>.</summary>
    public bool Forget(TKey key) => _until.TryRemove(key, out _);

    /// <summary>Forgets every key whose lease period ran out without a renewal; returns them.</summary>
    public IReadOnlyList<TKey> DropExpired()
    {
        var now = time.GetTimestamp();
        var dropped = new List<TKey>();
        foreach (var (key, until) in _until)
        {
            if (until <= now && _until.TryRemove(new KeyValuePair<TKey, long>(key, until))) dropped.Add(key);
        }
        return dropped;
    }
}
