using Microsoft.Extensions.Logging;
using Scraper.Domain;
using Scraper.Storage;

namespace Scraper.Pipeline;

/// <summary>
/// Which series this scraper follows in a fleet: each series is followed by the one scraper that
/// holds its follow lease. Every third of a lease period the scraper says it is alive, renews its
/// leases, gives back what exceeds its share (series ÷ live scrapers, rounded up) so that a newcomer
/// gets some, and claims free or expired ones up to its share — so a dead follower's series are
/// taken over about one lease period after its last renewal. A scraper cut off from the database
/// stops following its series when their lease period has run out without a renewal (they may be
/// another's by then) and claims afresh once the database answers. Every change of the series it
/// follows is reported to <c>changed</c> (a copy, empty once the leases are given back or dropped).
/// </summary>
internal sealed partial class FollowShare(IWorkLeases leases, IReadOnlyList<SeriesKey> series, TimeProvider time, ILogger logger,
    Action<IReadOnlySet<SeriesKey>>? changed = null, IFleetEvents? events = null)
{
    private readonly Lock _reporting = new();
    private HashSet<SeriesKey> _reported = [];

    /// <summary>Whether this scraper follows <paramref name="key"/> now: it holds its lease and the lease period has not run out.</summary>
    public bool Follows(SeriesKey key) => leases.Holds(WorkLease.Follow(key));

    /// <summary>Keeps the share up to date until <paramref name="stop"/>, then gives every follow lease back.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        // On a timer of its own: while the database is gone the loop below hangs in the store's retry.
        using var watch = time.CreateTimer(_ => DropExpired(), null, leases.Period / 6, leases.Period / 6);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                Balance(leases.Heartbeat());
            }
            catch (StoreException e) when (!stop.IsCancellationRequested)
            {
                LogFailed(logger, e.Message);
            }
            Report();
            try
            {
                await Task.Delay(leases.Period / 3, time, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        try
        {
            // Forgotten here even when the database is gone: they expire there after a lease period.
            leases.Release(leases.Held(LeaseKind.Follow));
        }
        catch (StoreException e)
        {
            LogFailed(logger, e.Message);
        }
        Report();
    }

    private void DropExpired()
    {
        var dropped = leases.DropExpired(LeaseKind.Follow);
        if (dropped.Count == 0) return;
        events?.LeasesDropped(LeaseKind.Follow, dropped.Count);
        LogDropped(logger, dropped.Count, leases.Period.TotalSeconds);
        Report();
    }

    private void Report()
    {
        lock (_reporting)
        {
            var now = leases.Held(LeaseKind.Follow).Select(l => l.Series).ToHashSet();
            if (now.SetEquals(_reported)) return;
            _reported = now;
            changed?.Invoke(now);
        }
    }

    private void Balance(int members)
    {
        var share = (series.Count + Math.Max(1, members) - 1) / Math.Max(1, members);
        var mine = leases.Held(LeaseKind.Follow);
        var kept = leases.Renew(mine).ToHashSet();
        foreach (var lost in mine.Where(m => !kept.Contains(m))) LogLost(logger, lost.Series.ToString());
        var held = leases.Held(LeaseKind.Follow).Select(l => l.Series).ToHashSet();
        var extra = series.Where(held.Contains).Skip(share).ToList();
        if (extra.Count > 0)
        {
            leases.Release([.. extra.Select(WorkLease.Follow)]);
            held.ExceptWith(extra);
            LogGivenBack(logger, extra.Count, members);
        }
        var free = share - held.Count;
        if (free <= 0) return;
        foreach (var (lease, takenOver) in leases.Claim([.. series.Where(s => !held.Contains(s)).Select(WorkLease.Follow)], free))
            LogFollowing(logger, lease.Series.ToString(), takenOver ? " (taken over: its follower's lease had expired)" : "");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "following {Series}{TakenOver}")]
    private static partial void LogFollowing(ILogger logger, string series, string takenOver);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lost the follow lease of {Series} to another scraper (not renewed in time)")]
    private static partial void LogLost(ILogger logger, string series);

    [LoggerMessage(Level = LogLevel.Information, Message = "gave {Count} series back to share them among {Members} scrapers")]
    private static partial void LogGivenBack(ILogger logger, int count, int members);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stopped following {Count} series: no renewal of their leases for a lease period ({Seconds:0.#} s; the database is unreachable?), so they may be another scraper's; they are claimed afresh once the database answers")]
    private static partial void LogDropped(ILogger logger, int count, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "follow leases: {Error}; trying again in a third of the lease period")]
    private static partial void LogFailed(ILogger logger, string error);
}
