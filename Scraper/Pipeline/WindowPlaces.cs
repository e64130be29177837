namespace Scraper.Pipeline;

/// <summary>
/// The places of one group's window: a lease of ours each (counted from its latest arrival once
/// answered, held while in flight), and others' places the exchange counted that we did not send.
/// A place is kept after it left the window for as long as an answer may still count it, so most
/// places are kept ones; every question is one pass over them, without a list or a sort, since it is
/// asked for every permit and every answer. Not thread-safe: the group's lock guards it.
/// </summary>
internal sealed class WindowPlaces(RateLimitOptions options)
{
    private readonly List<RateLimitSlot> _slots = [];
    private readonly long[] _top = new long[options.RequestsPerWindow]; // FreeBelow's selection

    /// <summary>A request of ours is unanswered.</summary>
    public bool AnyInFlight
    {
        get
        {
            // The newest places are the likeliest in flight.
            for (var i = _slots.Count - 1; i >= 0; i--)
            {
                if (_slots[i].InFlight) return true;
            }
            return false;
        }
    }

    /// <summary>Drops the places no answer can count any more: kept for the in-flight hold after they left the window.</summary>
    public void Prune(DateTimeOffset now, TimeSpan window)
    {
        var kept = 0;
        for (var i = 0; i < _slots.Count; i++)
        {
            if (_slots[i].FreeAt(window, options.MaxInFlightHold) + options.MaxInFlightHold > now) _slots[kept++] = _slots[i];
        }
        _slots.RemoveRange(kept, _slots.Count - kept);
    }

    /// <summary>When the last of our places leaves the window (one unanswered as if it arrived now); <paramref name="now"/> if none is in it.</summary>
    public DateTimeOffset OursLeaveAt(DateTimeOffset now, TimeSpan window)
    {
        var last = now;
        foreach (var slot in _slots)
        {
            var free = slot.IsPhantom ? now : (slot.Booked ?? now) + window;
            if (free > last) last = free;
        }
        return last;
    }

    /// <summary>A permit granted now holds a place.</summary>
    public void Add(RateLimitLease lease, DateTimeOffset now) => _slots.Add(new RateLimitSlot(now, lease));

    /// <summary>The places taken at <paramref name="now"/>: all of them, and ours.</summary>
    public (int All, int Ours) Occupied(DateTimeOffset now, TimeSpan window)
    {
        var (all, ours) = (0, 0);
        foreach (var slot in _slots)
        {
            if (slot.FreeAt(window, options.MaxInFlightHold) <= now) continue;
            all++;
            if (!slot.IsPhantom) ours++;
        }
        return (all, ours);
    }

    /// <summary>When fewer than <paramref name="limit"/> places (or of ours only) are taken: now, or when the one that makes it so leaves.</summary>
    public DateTimeOffset FreeBelow(DateTimeOffset now, TimeSpan window, int limit, bool oursOnly)
    {
        // The limit-th latest to leave, of those still in the window.
        var latest = new LargestOf(limit <= _top.Length ? _top.AsSpan(0, limit) : new long[limit]);
        foreach (var slot in _slots)
        {
            if (oursOnly && slot.IsPhantom) continue;
            var free = slot.FreeAt(window, options.MaxInFlightHold);
            if (free > now) latest.Offer(free.UtcTicks);
        }
        return latest.Count < limit ? now : new DateTimeOffset(latest.Smallest, TimeSpan.Zero).ToOffset(now.Offset);
    }

    /// <summary>
    /// How many of our requests can at most have been counted in the exchange's window ending with a
    /// request that arrived between <paramref name="earliest"/> (its bytes left) and <paramref name="latest"/>
    /// (its booking): bookings are the latest arrivals the round trips allow, give or take the margin.
    /// </summary>
    public int OursAtMost(DateTimeOffset earliest, DateTimeOffset latest)
    {
        var (from, to) = (earliest - options.Window - options.BaseMargin, latest + options.BaseMargin);
        var ours = 0;
        foreach (var slot in _slots)
        {
            if (!slot.IsPhantom && slot.Granted <= to && InWindowFrom(slot, from)) ours++;
        }
        return ours;
    }

    /// <summary>
    /// The exchange counted <paramref name="used"/> in the window ending with a request that arrived
    /// between <paramref name="earliest"/> and <paramref name="at"/>: the places it counted beyond those
    /// on our books that it can have counted (others' included) are booked as others', counted at
    /// <paramref name="at"/> and leaving the window as <paramref name="othersBooked"/> does. True when some were.
    /// Our places count from <paramref name="earliest"/> less a window: an answer slower than the fastest
    /// books its request late, and a window ending at that booking would leave out requests the exchange
    /// still counted, so a slow answer would look like another client. (The group passes the booking
    /// itself when others' requests must not hide behind ours.)
    /// </summary>
    public bool Reconcile(DateTimeOffset earliest, DateTimeOffset at, int used, DateTimeOffset othersBooked)
    {
        var from = earliest - options.Window;
        var booked = 0;
        foreach (var slot in _slots)
        {
            if (slot.Granted <= at && InWindowFrom(slot, from)) booked++;
        }
        var missing = Math.Min(used, options.RequestsPerWindow) - booked;
        for (var i = 0; i < missing; i++) _slots.Add(new RateLimitSlot(at, null, othersBooked));
        return missing > 0;
    }

    /// <summary>Forgets others' places: a later count replaces them.</summary>
    public void RemoveOthers() => _slots.RemoveAll(s => s.IsPhantom);

    private static bool InWindowFrom(RateLimitSlot slot, DateTimeOffset from) => slot.Booked is not { } booked || booked > from;
}
