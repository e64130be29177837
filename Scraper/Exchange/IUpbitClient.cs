using Scraper.Domain;

namespace Scraper.Exchange;

/// <summary>
/// The Upbit REST API. Each call is exactly one HTTP request (no hidden retries: the pipeline
/// retries, through the rate limiter). Calls return an <see cref="ExchangeResponse{T}"/> for every
/// outcome and throw only <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.
/// </summary>
internal interface IUpbitClient
{
    /// <summary>GET /v1/candles/minutes/{unit} or /v1/candles/days with market, to and count.</summary>
    Task<ExchangeResponse<IReadOnlyList<Candle>>> GetCandlesAsync(CandleQuery query, CancellationToken cancellationToken);

    /// <summary>GET /v1/ticker?markets=A,B,... (one request for all markets).</summary>
    Task<ExchangeResponse<IReadOnlyList<Ticker>>> GetTickersAsync(IReadOnlyList<string> markets, CancellationToken cancellationToken);

    /// <summary>GET /v1/market/all: the market codes the exchange lists.</summary>
    Task<ExchangeResponse<IReadOnlyList<string>>> GetMarketsAsync(CancellationToken cancellationToken);

    /// <summary>GET /v1/accounts, signed with the JWT; only when keys are configured.</summary>
    Task<ExchangeResponse<IReadOnlyList<Account>>> GetAccountsAsync(CancellationToken cancellationToken);
}
