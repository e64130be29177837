namespace Scraper.Exchange;

/// <summary>
/// The result of one request. The client never throws for what the exchange or the network does:
/// every ending is a value the pipeline routes. <see cref="FailureReason"/> is a short, bounded
/// token fit for a metric label (for example <c>http_503</c>, <c>timeout</c>, <c>connection</c>,
/// <c>malformed_body</c>, <c>body_too_large</c>); <see cref="Detail"/> is for logs and never holds a secret.
/// <see cref="Date"/> is the exchange's clock as the response showed it, null when it had no Date header.
/// <see cref="Wire"/> is the request's timing on its connection, null when it was not seen there.
/// </summary>
internal sealed record ExchangeResponse<T>(
    ExchangeOutcome Outcome,
    T? Value,
    int? StatusCode,
    RemainingRequests? Remaining,
    TimeSpan Duration,
    string? FailureReason = null,
    string? Detail = null,
    TimeSpan? BlockDuration = null,
    ExchangeDate? Date = null,
    WireTiming? Wire = null)
    where T : class
{
    /// <summary>True when the exchange answered 2xx with a body that parsed.</summary>
    public bool IsSuccess => Outcome == ExchangeOutcome.Success;
}
