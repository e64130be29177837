namespace Scraper.Exchange;

/// <summary>How one HTTP exchange with Upbit ended, as the pipeline routes it.</summary>
public enum ExchangeOutcome
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

/// <summary>
/// The result of one request. The client never throws for what the exchange or the network does:
/// every ending is a value the pipeline routes. <see cref="FailureReason"/> is a short, bounded
/// token fit for a metric label (for example <c>http_503</c>, <c>timeout</c>, <c>connection</c>,
/// <c>malformed_body</c>, <c>body_too_large</c>); <see cref="Detail"/> is for logs and never holds a secret.
/// <see cref="Date"/> is the exchange's clock as the response showed it, null when it had no Date header.
/// </summary>
public sealed record ExchangeResponse<T>(
    ExchangeOutcome Outcome,
    T? Value,
    int? StatusCode,
    RemainingRequests? Remaining,
    TimeSpan Duration,
    string? FailureReason = null,
    string? Detail = null,
    TimeSpan? BlockDuration = null,
    ExchangeDate? Date = null)
    where T : class
{
    /// <summary>True when the exchange answered 2xx with a body that parsed.</summary>
    public bool IsSuccess => Outcome == ExchangeOutcome.Success;
}
