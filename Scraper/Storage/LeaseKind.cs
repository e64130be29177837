namespace Scraper.Storage;

/// <summary>What a lease is for.</summary>
internal enum LeaseKind
{
    /// <summary>A chunk of windows of one series to fetch (a backfill's or a follow pass's).</summary>
    Windows,
    /// <summary>Following one series: one scraper of a fleet follows it at a time.</summary>
    Follow,
}
