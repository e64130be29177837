namespace Scraper.Pipeline.Live;

/// <summary>Where live candles come from.</summary>
internal enum LiveSource
{
    /// <summary>The WebSocket stream, with REST reconciliation (and polling while the stream cannot be had).</summary>
    Stream,
    /// <summary>REST polling after every close.</summary>
    Poll,
}
