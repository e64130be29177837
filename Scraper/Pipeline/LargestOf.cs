namespace Scraper.Pipeline;

/// <summary>
/// The <c>k</c> largest of the values offered, kept in ascending order in a buffer of length <c>k</c>
/// that the caller owns: a bounded selection where a sort of every value would allocate and cost more.
/// Offering negated values keeps the smallest.
/// </summary>
internal ref struct LargestOf(Span<long> buffer)
{
    private readonly Span<long> _top = buffer;

    /// <summary>How many values are kept: all offered, up to <c>k</c>.</summary>
    public int Count { get; private set; }

    /// <summary>The smallest value kept: once <c>k</c> are, the k-th largest offered.</summary>
    public readonly long Smallest => _top[0];

    public void Offer(long value)
    {
        if (Count < _top.Length)
        {
            var i = Count++;
            for (; i > 0 && _top[i - 1] > value; i--) _top[i] = _top[i - 1];
            _top[i] = value;
            return;
        }
        if (_top.Length == 0 || value <= _top[0]) return;
        var j = 0;
        for (; j + 1 < _top.Length && _top[j + 1] < value; j++) _top[j] = _top[j + 1];
        _top[j] = value;
    }
}
