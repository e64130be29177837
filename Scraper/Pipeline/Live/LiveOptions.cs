namespace Scraper.Pipeline.Live;

/// <summary>Where live candles come from.</summary>
public enum LiveSource
{
    /// <summary>The WebSocket stream, with REST reconciliation (and polling while the stream cannot be had).</summary>
    Stream,
    /// <summary>REST polling after every close.</summary>
    Poll,
}

/// <summary>How the live follower uses the stream and REST.</summary>
public sealed record LiveOptions
{
    /// <summary>How often every streamed series is reconciled by REST (windows of 200 closed intervals).</summary>
    public TimeSpan ReconcileEvery { get; init; } = TimeSpan.FromHours(3);

    /// <summary>Failed connection attempts in a row after which the minute series are polled until the stream works again.</summary>
    public int FallbackAfterFailures { get; init; } = 3;

    /// <summary>Stream candles are written in batches this far apart (the last update of a candle in a batch wins).</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long after a close a polled series or a follow-up reconciliation asks for it.</summary>
    public TimeSpan AfterClose { get; init; } = TimeSpan.FromSeconds(1);
}
