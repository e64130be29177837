namespace Scraper.Pipeline;

/// <summary>
/// The places of one group's window: a lease of ours each (counted from its latest arrival once
/// answered, held while in flight), and others' places the exchange counted that we did not send.
/// A place is kept after it left the window for as long as an answer may still count it.
/// </summary>
internal sealed class WindowPlaces(RateLimitOptions options)
{
    private readonly List<RateLimitSlot> _slots = [];

    /// <summary>A request of ours is unanswered.</summary>
    public bool AnyInFlight => _slots.Any(s => s.InFlight);

    /// <summary>Drops the places no answer can count any more: kept for the in-flight hold after they left the window.</summary>
    public void Prune(DateTimeOffset now, TimeSpan window) =>
        _slots.RemoveAll(s => s.FreeAt(window, options.MaxInFlightHold) + options.MaxInFlightHold <= now);

    /// <summary>A permit granted now holds a place.</summary>
    public void Add(RateLimitLease lease, DateTimeOffset now) => _slots.Add(new RateLimitSlot(now, lease));

    /// <summary>The places taken at <paramref name="now"/>: all of them, and ours.</summary>
    public (int All, int Ours) Occupied(DateTimeOffset now, TimeSpan window)
    {
        var occupied = _slots.Where(s => s.FreeAt(window, options.MaxInFlightHold) > now).ToList();
        return (occupied.Count, occupied.Count(s => !s.IsPhantom));
    }

    /// <summary>When fewer than <paramref name="limit"/> places (or of ours only) are taken: now, or when the one that makes it so leaves.</summary>
    public DateTimeOffset FreeBelow(DateTimeOffset now, TimeSpan window, int limit, bool oursOnly)
    {
        var frees = _slots.Where(s => !oursOnly || !s.IsPhantom).Select(s => s.FreeAt(window, options.MaxInFlightHold)).Where(f => f > now).Order().ToList();
        return frees.Count < limit ? now : frees[frees.Count - limit];
    }

    /// <summary>
    /// How many of our requests can at most have been counted in the exchange's window ending at
    /// <paramref name="at"/>: bookings are the latest arrivals the round trips allow, give or take the margin.
    /// </summary>
    public int OursAtMost(DateTimeOffset at)
    {
        var from = at - options.Window - options.BaseMargin;
        return _slots.Count(s => !s.IsPhantom && s.Granted <= at + options.BaseMargin && (s.InFlight || s.Booked > from));
    }

    /// <summary>
    /// The exchange counted <paramref name="used"/> in the window ending at <paramref name="at"/>: the places
    /// it counted beyond those on our books (others' included) are booked as others', counted at
    /// <paramref name="at"/> and leaving the window as <paramref name="othersBooked"/> does. True when some were.
    /// </summary>
    public bool Reconcile(DateTimeOffset at, int used, DateTimeOffset othersBooked)
    {
        var from = at - options.Window;
        var missing = Math.Min(used, options.RequestsPerWindow) - _slots.Count(s => s.Granted <= at && (s.InFlight || s.Booked > from));
        for (var i = 0; i < missing; i++) _slots.Add(new RateLimitSlot(at, null, othersBooked));
        return missing > 0;
    }

    /// <summary>Forgets others' places: a later count replaces them.</summary>
    public void RemoveOthers() => _slots.RemoveAll(s => s.IsPhantom);
}
