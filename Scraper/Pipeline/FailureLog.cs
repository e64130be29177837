using Microsoft.Extensions.Logging;

namespace Scraper.Pipeline;

/// <summary>
/// Logs failures once per burst, not once per request: the first failure of a kind after a quiet
/// spell is logged, the rest are counted, and the count is logged every <see cref="SummaryEvery"/>
/// while the burst goes on and once when it is over — at the first success after
/// <see cref="QuietAfter"/> without that failure (requests run concurrently, so one success of
/// another request does not mean the fault has passed), or at the stop. The closing line gives the
/// total. Metrics still count every single one.
/// </summary>
internal sealed partial class FailureLog(ILogger logger, TimeProvider time)
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Group, string Reason), Burst> _bursts = new();

    /// <summary>How often an ongoing burst is summarised.</summary>
    public static readonly TimeSpan SummaryEvery = TimeSpan.FromSeconds(30);

    /// <summary>A burst is over after this long without a failure of its kind.</summary>
    public static readonly TimeSpan QuietAfter = TimeSpan.FromSeconds(10);

    /// <summary>Records one failure; logs it if it opens a burst.</summary>
    public void Failure(string group, string reason, LogLevel level, string detail)
    {
        string? summary = null;
        var open = false;
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (!_bursts.TryGetValue((group, reason), out var burst))
            {
                _bursts[(group, reason)] = new Burst { Since = now, LastSummary = now, LastFailure = now, Total = 1 };
                open = true;
            }
            else
            {
                burst.Suppressed++;
                burst.Total++;
                burst.LastFailure = now;
                if (now - burst.LastSummary >= SummaryEvery)
                {
                    summary = $"{burst.Suppressed} more";
                    burst.LastSummary = now;
                    burst.Suppressed = 0;
                }
            }
        }
        if (open) LogBurstStart(logger, level, group, reason, detail);
        else if (summary is not null) LogBurstOngoing(logger, level, group, reason, summary, detail);
    }

    /// <summary>Records a success of the group: closes its bursts that have been quiet long enough, with a summary line.</summary>
    public void Success(string group)
    {
        List<(string Reason, long Total, TimeSpan Lasted)>? closed = null;
        lock (_gate)
        {
            if (_bursts.Count == 0) return;
            var now = time.GetUtcNow();
            foreach (var (key, burst) in _bursts.Where(kv => kv.Key.Group == group && now - kv.Value.LastFailure >= QuietAfter).ToList())
            {
                (closed ??= []).Add((key.Reason, burst.Total, burst.LastFailure - burst.Since));
                _bursts.Remove(key);
            }
        }
        if (closed is null) return;
        foreach (var (reason, total, lasted) in closed) LogRecovered(logger, group, reason, total, lasted.TotalSeconds);
    }

    /// <summary>
    /// Closes every open burst with its total, at a stop: what was counted and not logged is summed
    /// up, not lost. A burst of one failure needs no second line.
    /// </summary>
    public void CloseAll()
    {
        List<(string Group, string Reason, long Total, TimeSpan Lasted)> closed;
        lock (_gate)
        {
            closed = _bursts.Where(kv => kv.Value.Total > 1)
                .Select(kv => (kv.Key.Group, kv.Key.Reason, kv.Value.Total, kv.Value.LastFailure - kv.Value.Since)).ToList();
            _bursts.Clear();
        }
        foreach (var (group, reason, total, lasted) in closed) LogOpenAtStop(logger, group, reason, total, lasted.TotalSeconds);
    }

    private sealed class Burst
    {
        public DateTimeOffset Since;
        public DateTimeOffset LastSummary;
        public DateTimeOffset LastFailure;
        public int Suppressed;
        public long Total;
    }

    [LoggerMessage(Message = "{Group}: {Reason}: {Detail} (further failures of this kind are counted, not logged, until it recovers)")]
    private static partial void LogBurstStart(ILogger logger, LogLevel level, string group, string reason, string detail);

    [LoggerMessage(Message = "{Group}: {Reason} continues: {Count} since the last line; latest: {Detail}")]
    private static partial void LogBurstOngoing(ILogger logger, LogLevel level, string group, string reason, string count, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Group}: recovered from {Reason}: {Total} in all over {Seconds:0.0} s")]
    private static partial void LogRecovered(ILogger logger, string group, string reason, long total, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Group}: {Reason}: {Total} in all over {Seconds:0.0} s (not over at the stop)")]
    private static partial void LogOpenAtStop(ILogger logger, string group, string reason, long total, double seconds);
}
