using Scraper.Exchange;

namespace Scraper.Pipeline;

/// <summary>
/// Learns from the exchange's answers alone whether it counts in fixed buckets (the count starts again
/// at every edge, one window apart) and where an edge lies; once it does, a group may also release a
/// slice at a bucket's start when the bucket has room, instead of only when places leave a sliding window.
/// <para>
/// The evidence: in a sliding window an answer's count includes every request of ours answered before
/// this one was granted (so it arrived earlier) and granted less than a window before this one was
/// answered (so it arrived less than a window earlier). A count below that is impossible in a sliding
/// window, whoever else is on the IP: the count started again in between, so an edge lies after the
/// earliest of those that the count left out and before this answer. One such answer is enough.
/// To see one early, the first full slice after the slow start's probe keeps one place back for a tenth
/// of a window (<see cref="FirstSliceHold"/>): a bucket's edge then falls between two groups of requests
/// less than a window apart whatever its phase.
/// </para>
/// <para>
/// A request of ours may be in bucket j when it can have arrived after edge j's earliest instant and
/// before edge j+1's latest; a request that certainly arrived in bucket j carries the exchange's count
/// there, which bounds the bucket too (with whatever of ours may have come after it). A 429, or an answer
/// the learnt edge cannot explain (a count above what we can have sent into its bucket, or below what
/// certainly is there), forgets it: the sliding rules hold under a fixed bucket as well.
/// </para>
/// </summary>
internal sealed class FixedBucketEdge(RateLimitOptions options)
{
    private readonly List<FixedBucketRequest> _ours = []; // in the order granted
    private readonly List<FixedBucketRequest> _possible = []; // PossiblyIn's, kept to allocate it once
    private DateTimeOffset _lo; // edge 0 lies in (_lo, _hi]; edge j lies j windows later
    private DateTimeOffset _hi;
    private DateTimeOffset? _holdUntil; // the first full slice's place kept back

    /// <summary>An edge is known: the exchange counts in fixed buckets.</summary>
    public bool Known { get; private set; }

    /// <summary>How wide the interval the known edge lies in is.</summary>
    public TimeSpan Uncertainty => Known ? _hi - _lo : options.Window;

    private TimeSpan W => options.Window;

    private TimeSpan Hold => options.MaxInFlightHold;

    /// <summary>
    /// How long the first full slice keeps one place back. Any split shows an edge in the first window
    /// (it lies between the two groups or between the second and the next slice), and on a sliding
    /// window the place kept back costs at most this much once, so it is short.
    /// </summary>
    public static TimeSpan FirstSliceHold(TimeSpan window) => window / 10;

    /// <summary>One place less while the first full slice keeps one back (never while the edge is known).</summary>
    public int HeldBack(DateTimeOffset now) => !Known && now < _holdUntil ? 1 : 0;

    /// <summary>When the place kept back goes, while it is kept back.</summary>
    public DateTimeOffset? HoldEnds(DateTimeOffset now) => HeldBack(now) > 0 ? _holdUntil : null;

    /// <summary>A permit was granted.</summary>
    public void Granted(RateLimitLease lease, DateTimeOffset now)
    {
        var kept = 0;
        for (var i = 0; i < _ours.Count; i++)
        {
            if (_ours[i].Latest(Hold) + 3 * W >= now) _ours[kept++] = _ours[i];
        }
        _ours.RemoveRange(kept, _ours.Count - kept);
        _ours.Add(new FixedBucketRequest(lease));
    }

    /// <summary>
    /// An answer and the exchange's count of its window or bucket (null without Remaining-Req). The
    /// first count, when it answers the slow start's probe after a short round trip, starts the hold of
    /// the first full slice; a 429 forgets the edge.
    /// </summary>
    public void Answered(RateLimitLease lease, DateTimeOffset now, ExchangeOutcome outcome, int? used)
    {
        if (outcome == ExchangeOutcome.RateLimited) Forget();
        if (Find(lease) is not { } r) return;
        var counted = outcome == ExchangeOutcome.Success;
        r.AnsweredAt = now;
        r.Counted = counted;
        if (used is not { } count) return;
        // The slow start's lone probe answered: the full slice follows. Evidence needs answers back well
        // within a window; at longer round trips the split would only cost.
        _holdUntil ??= _ours.Count == 1 && now - lease.GrantedAt < W / 4 ? now + FirstSliceHold(W) : DateTimeOffset.MinValue;
        // A count that leaves out this request itself is no count of its window (another group's header, a changed limit).
        if (!counted || count < 1) return;
        if (Known && !Explains(r, count)) Forget();
        Learn(r, count);
    }

    /// <summary>Back to the sliding rules alone.</summary>
    public void Forget()
    {
        Known = false;
        _holdUntil ??= DateTimeOffset.MinValue;
        foreach (var q in _ours) q.Anchor = null;
    }

    /// <summary>A request granted now fits in every bucket it can reach, up to <paramref name="limit"/> of ours (and others counted).</summary>
    public bool HasRoom(DateTimeOffset now, int limit)
    {
        var j = Index(now);
        return PossiblyIn(j) < limit && PossiblyIn(j + 1) < limit;
    }

    /// <summary>Now when there is room, else the next bucket's latest start.</summary>
    public DateTimeOffset Next(DateTimeOffset now, int limit) => HasRoom(now, limit) ? now : Edge(_hi, Index(now) + 1);

    /// <summary>The request of <paramref name="lease"/>: answers come in about the order of the grants, so from the latest.</summary>
    private FixedBucketRequest? Find(RateLimitLease lease)
    {
        for (var i = _ours.Count - 1; i >= 0; i--)
        {
            if (_ours[i].Lease == lease) return _ours[i];
        }
        return null;
    }

    /// <summary>The bucket whose edge has certainly passed at <paramref name="t"/> (later ones have not).</summary>
    private long Index(DateTimeOffset t) => (long)Math.Floor((t - _hi) / W);

    /// <summary>How many requests bucket j can hold already: ours that may be in it, or a count the exchange gave there and ours that may have come after.</summary>
    private int PossiblyIn(long j)
    {
        var (start, end) = (Edge(_lo, j), Edge(_hi, j + 1));
        _possible.Clear();
        foreach (var q in _ours)
        {
            if (q.Latest(Hold) > start && q.GrantedAt < end) _possible.Add(q);
        }
        var bound = _possible.Count;
        foreach (var r in _ours)
        {
            if (r.Anchor is not { } anchor || anchor.Bucket != j) continue;
            var after = 0;
            foreach (var q in _possible)
            {
                if (q != r && q.Latest(Hold) > r.GrantedAt) after++;
            }
            bound = Math.Min(bound, anchor.Count + after);
        }
        return bound;
    }

    /// <summary>The bucket <paramref name="r"/> certainly arrived in, if its way there lies between two edges' intervals.</summary>
    private long? CertainBucket(FixedBucketRequest r)
    {
        var j = Index(r.GrantedAt);
        return r.Latest(Hold) <= Edge(_lo, j + 1) ? j : null;
    }

    /// <summary>The count fits the learnt buckets: not above what can be in r's bucket, not below what certainly came before it there.</summary>
    private bool Explains(FixedBucketRequest r, int count)
    {
        var last = (long)Math.Floor((r.Latest(Hold) - _lo) / W);
        var most = 0;
        for (var j = Index(r.GrantedAt); j <= last; j++)
        {
            var (start, end) = (Edge(_lo, j), Edge(_hi, j + 1));
            var possible = 0;
            foreach (var q in _ours)
            {
                if (q.Latest(Hold) > start && q.GrantedAt < end) possible++;
            }
            most = Math.Max(most, possible);
        }
        if (count > most) return false;
        if (CertainBucket(r) is not { } bucket) return true;
        var before = 0;
        foreach (var q in _ours)
        {
            if (q != r && q.Counted && q.AnsweredAt <= r.GrantedAt && CertainBucket(q) == bucket) before++;
        }
        if (count < before + 1) return false;
        r.Anchor = (bucket, count);
        return true;
    }

    /// <summary>A count below ours that certainly came less than a window before: an edge lies in between.</summary>
    private void Learn(FixedBucketRequest r, int count)
    {
        var answered = r.AnsweredAt!.Value;
        bool Before(FixedBucketRequest q) => q != r && q.Counted && q.AnsweredAt <= r.GrantedAt && q.GrantedAt + W > answered;
        var before = 0;
        foreach (var q in _ours)
        {
            if (Before(q)) before++;
        }
        var left = before - (count - 1); // at least this many of them were counted in an earlier bucket
        if (left <= 0) return;
        // The left-th earliest grant of them: the largest of the left earliest.
        var earliest = new LargestOf(left <= 64 ? stackalloc long[left] : new long[left]);
        foreach (var q in _ours)
        {
            if (Before(q)) earliest.Offer(-q.GrantedAt.UtcTicks);
        }
        var (a, b) = (new DateTimeOffset(-earliest.Smallest, TimeSpan.Zero), answered);
        if (!Known)
        {
            (_lo, _hi, Known) = (a, b, true);
            r.Anchor = (0, count);
            return;
        }
        var j = (long)Math.Round((a + (b - a) / 2 - (_lo + (_hi - _lo) / 2)) / W);
        var (lo, hi) = (Max(_lo, Edge(a, -j)), Min(_hi, Edge(b, -j)));
        if (lo >= hi)
        {
            Forget();
            return;
        }
        (_lo, _hi) = (lo, hi);
        r.Anchor = (j, count);
    }

    /// <summary>Edge <paramref name="j"/>'s earliest or latest instant, from edge 0's (clamped to the calendar: a scheduler may start at its zero).</summary>
    private DateTimeOffset Edge(DateTimeOffset bound, long j) =>
        new(Math.Clamp(bound.UtcTicks + j * W.Ticks, DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks), TimeSpan.Zero);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
