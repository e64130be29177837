namespace Scraper.Pipeline.Live;

/// <summary>How the live follower uses the stream and REST.</summary>
internal sealed record LiveOptions
{
    /// <summary>How often a streamed 1-minute series is reconciled by REST (windows of 200 closed intervals); see <see cref="ReconcilePeriod"/>.</summary>
    public TimeSpan ReconcileEvery { get; init; } = TimeSpan.FromHours(3);

    /// <summary>
    /// The reconciliation period of a unit: <see cref="ReconcileEvery"/> per minute of the unit, so
    /// every unit spends about the same number of intervals per request, but at least daily (or
    /// every <see cref="ReconcileEvery"/> when that is longer). 400 markets × 1, 3, 5, 15 minutes
    /// then cost under 4 requests a minute.
    /// </summary>
    public TimeSpan ReconcilePeriod(Domain.CandleUnit unit)
    {
        var cap = ReconcileEvery > TimeSpan.FromDays(1) ? ReconcileEvery : TimeSpan.FromDays(1);
        var scaled = ReconcileEvery * Math.Max(1, unit.Minutes);
        return scaled < cap ? scaled : cap;
    }

    /// <summary>Failed connection attempts in a row after which the minute series are polled until the stream works again.</summary>
    public int FallbackAfterFailures { get; init; } = 3;

    /// <summary>
    /// How long nothing must have been heard from the stream (or since start) before failed attempts
    /// switch to polling: a short refusal is bridged by the reconciliation after the reconnection,
    /// while polling every series at once would spend minutes of the REST budget.
    /// </summary>
    public TimeSpan FallbackAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Stream candles are written in batches this far apart (the last update of a candle in a batch wins).</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long after an interval's close the stream may still deliver its last update: a connection
    /// lost this soon after a close may have lost that interval's final value.
    /// </summary>
    public TimeSpan CloseGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long after a close a polled series or a follow-up reconciliation asks for it.</summary>
    public TimeSpan AfterClose { get; init; } = TimeSpan.FromSeconds(1);
}
