namespace Scraper.Exchange;

/// <summary>How one HTTP exchange with Upbit ended, as the pipeline routes it.</summary>
internal enum ExchangeOutcome
{
    /// <summary>2xx with a well-formed body.</summary>
    Success,
    /// <summary>429: over the rate limit. Pause the group and slow down.</summary>
    RateLimited,
    /// <summary>418: the IP is banned for a while. Stop the group for the block duration.</summary>
    Banned,
    /// <summary>5xx, timeout, connection failure, truncated or malformed body: worth retrying.</summary>
    Transient,
    /// <summary>400, 404 and other 4xx: retrying cannot help; skip and report.</summary>
    Permanent,
}
