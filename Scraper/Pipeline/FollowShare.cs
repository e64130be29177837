using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Scraper.Domain;
using Scraper.Storage;

namespace Scraper.Pipeline;

/// <summary>
/// Which series this scraper follows in a fleet: each series is followed by the one scraper that
/// holds its follow lease. Every third of a lease period the scraper says it is alive, renews its
/// leases, gives back what exceeds its share (series ÷ live scrapers, rounded up) so that a newcomer
/// gets some, and claims free or expired ones up to its share — so a dead follower's series are
/// taken over about one lease period after its last renewal. Every change of the series it follows
/// is reported to <c>changed</c> (a copy, empty once the leases are given back).
/// </summary>
internal sealed partial class FollowShare(IWorkLeases leases, IReadOnlyList<SeriesKey> series, TimeProvider time, ILogger logger,
    Action<IReadOnlySet<SeriesKey>>? changed = null)
{
    private readonly ConcurrentDictionary<SeriesKey, bool> _held = new();
    private HashSet<SeriesKey> _reported = [];

    /// <summary>Whether this scraper follows <paramref name="key"/> now.</summary>
    public bool Follows(SeriesKey key) => _held.ContainsKey(key);

    /// <summary>Keeps the share up to date until <paramref name="stop"/>, then gives every follow lease back.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
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
            leases.Release([.. _held.Keys.Select(WorkLease.Follow)]);
        }
        catch (StoreException e)
        {
            LogFailed(logger, e.Message);
        }
        _held.Clear();
        Report();
    }

    private void Report()
    {
        var now = _held.Keys.ToHashSet();
        if (now.SetEquals(_reported)) return;
        _reported = now;
        changed?.Invoke(now);
    }

    private void Balance(int members)
    {
        var share = (series.Count + Math.Max(1, members) - 1) / Math.Max(1, members);
        var mine = _held.Keys.Select(WorkLease.Follow).ToList();
        var kept = leases.Renew(mine).Select(l => l.Series).ToHashSet();
        foreach (var lost in mine.Where(m => !kept.Contains(m.Series)))
        {
            _held.TryRemove(lost.Series, out _);
            LogLost(logger, lost.Series.ToString());
        }
        var extra = series.Where(_held.ContainsKey).Skip(share).ToList();
        if (extra.Count > 0)
        {
            leases.Release([.. extra.Select(WorkLease.Follow)]);
            foreach (var key in extra) _held.TryRemove(key, out _);
            LogGivenBack(logger, extra.Count, members);
        }
        var free = share - _held.Count;
        if (free <= 0) return;
        foreach (var (lease, takenOver) in leases.Claim([.. series.Where(s => !_held.ContainsKey(s)).Select(WorkLease.Follow)], free))
        {
            _held[lease.Series] = true;
            LogFollowing(logger, lease.Series.ToString(), takenOver ? " (taken over: its follower's lease had expired)" : "");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "following {Series}{TakenOver}")]
    private static partial void LogFollowing(ILogger logger, string series, string takenOver);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lost the follow lease of {Series} to another scraper (not renewed in time)")]
    private static partial void LogLost(ILogger logger, string series);

    [LoggerMessage(Level = LogLevel.Information, Message = "gave {Count} series back to share them among {Members} scrapers")]
    private static partial void LogGivenBack(ILogger logger, int count, int members);

    [LoggerMessage(Level = LogLevel.Warning, Message = "follow leases: {Error}; trying again in a third of the lease period")]
    private static partial void LogFailed(ILogger logger, string error);
}
