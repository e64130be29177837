namespace Scraper.Exchange;

// Placeholder until the client branch lands.
public sealed class UpbitClient(UpbitClientOptions options, TimeProvider time) : IUpbitClient, IDisposable
{
    public Task<ExchangeResponse<IReadOnlyList<Candle>>> GetCandlesAsync(CandleQuery query, CancellationToken cancellationToken) => throw new NotImplementedException(options.ToString() + time);
    public Task<ExchangeResponse<IReadOnlyList<Ticker>>> GetTickersAsync(IReadOnlyList<string> markets, CancellationToken cancellationToken) => throw new NotImplementedException();
    public Task<ExchangeResponse<IReadOnlyList<Account>>> GetAccountsAsync(CancellationToken cancellationToken) => throw new NotImplementedException();
    public void Dispose() { }
}
