using Scraper.Domain;

namespace Scraper.Pipeline.Live;

/// <summary>
/// When each streamed series is reconciled periodically: the series of one unit take evenly spaced
/// slots within that unit's <see cref="LiveOptions.ReconcilePeriod"/> (by their order in the
/// configuration), so the REST requests of the periodic passes arrive at a steady trickle instead
/// of all at once, and never crowd out a backfill beside them. The reconciliation after a connection
/// runs at once; its follow-up takes a slot of its own (<see cref="FollowUp"/>).
/// </summary>
internal sealed class ReconcileSlots
{
    private readonly DateTimeOffset _anchor;
    private readonly Dictionary<SeriesKey, (TimeSpan Period, TimeSpan Phase)> _slots = [];
    private readonly Dictionary<SeriesKey, TimeSpan> _followUpDelays = [];

    /// <param name="series">The streamed series (day series are polled, not slotted).</param>
    /// <param name="options">Gives each unit's period.</param>
    /// <param name="anchor">Where every unit's first period starts.</param>
    public ReconcileSlots(IEnumerable<SeriesKey> series, LiveOptions options, DateTimeOffset anchor)
    {
        _anchor = anchor;
        foreach (var unit in series.Where(k => !k.Unit.IsDay).Distinct().GroupBy(k => k.Unit))
        {
            var members = unit.ToList();
            var period = options.ReconcilePeriod(unit.Key);
            // A connection's follow-ups at most one per FollowUpSpacing and unit, and done within half a period.
            var spread = options.FollowUpSpacing * members.Count < period / 2 ? options.FollowUpSpacing * members.Count : period / 2;
            for (var i = 0; i < members.Count; i++)
            {
                _slots[members[i]] = (period, period * i / members.Count);
                _followUpDelays[members[i]] = spread * i / members.Count;
            }
        }
    }

    /// <summary>
    /// The first slot of <paramref name="series"/> more than half its period after
    /// <paramref name="reconciled"/>: one periodic pass per period on the series' own slot, and
    /// none right after an extra reconciliation (the one after a connection) that came just before it.
    /// </summary>
    public DateTimeOffset Next(SeriesKey series, DateTimeOffset reconciled)
    {
        var (period, phase) = _slots[series];
        var after = reconciled + period / 2;
        var first = _anchor + phase;
        var next = first + period * (Math.Floor((after - first) / period) + 1);
        // Guards the rounding of a fractional number of periods.
        return next > after ? next : next + period;
    }

    /// <summary>
    /// When the follow-up of <paramref name="series"/> runs, given when its interval can first be
    /// covered (<paramref name="coverable"/>): a connection makes every series' follow-up coverable
    /// at the same instant, so each takes its own delay after it (the first series none), the
    /// series of a unit spread evenly at least <see cref="LiveOptions.FollowUpSpacing"/> apart, but
    /// all within half a period.
    /// </summary>
    public DateTimeOffset FollowUp(SeriesKey series, DateTimeOffset coverable) => coverable + _followUpDelays[series];
}
