namespace Scraper.Domain;

/// <summary>
/// One candle page to fetch: candles of <see cref="Series"/> starting in [Start, End). The request
/// asks for <c>to = End</c> (exclusive) and <c>count</c> = the number of intervals in the range.
/// </summary>
internal sealed record CandleWindow(SeriesKey Series, DateTimeOffset Start, DateTimeOffset End)
{
    /// <summary>The exchange's largest page.</summary>
    public const int MaxCandles = 200;

    /// <summary>Intervals in the window (1..200).</summary>
    public int Count => (int)((End - Start).Ticks / Series.Unit.Interval.Ticks);

    /// <summary>The HTTP request for this window.</summary>
    public CandleQuery Query => new(Series.Market, Series.Unit, End, Count);

    /// <summary>The window as a range.</summary>
    public TimeRange Range => new(Start, End);

    /// <inheritdoc />
    public override string ToString() => $"{Series} {Range}";
}
