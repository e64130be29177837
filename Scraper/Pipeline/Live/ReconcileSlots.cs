using Scraper.Domain;

namespace Scraper.Pipeline.Live;

/// <summary>
/// When each streamed series is reconciled periodically: the series of one unit take evenly spaced
/// slots within that unit's <see cref="LiveOptions.ReconcilePeriod"/> (by their order in the
/// configuration), so the REST requests of the periodic passes arrive at a steady trickle instead
/// of all at once, and never crowd out a backfill beside them. Reconciliations after a connection
/// are not slotted: they run at once.
/// </summary>
internal sealed class ReconcileSlots
{
    private readonly DateTimeOffset _anchor;
    private readonly Dictionary<SeriesKey, (TimeSpan Period, TimeSpan Phase)> _slots = [];

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
            for (var i = 0; i < members.Count; i++) _slots[members[i]] = (period, period * i / members.Count);
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
}
