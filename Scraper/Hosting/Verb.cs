namespace Scraper.Hosting;

/// <summary>The verbs a command line can name.</summary>
internal enum Verb
{
    /// <summary>The daemon: backfill, then follow; serves metrics.</summary>
    Run,
    /// <summary>One pass over the configured range, then exit.</summary>
    Backfill,
    /// <summary>Report coverage and gaps.</summary>
    Verify,
    /// <summary>Write stored candles to stdout.</summary>
    Export,
    /// <summary>Copy one store's candles and coverage into another.</summary>
    Copy,
}
