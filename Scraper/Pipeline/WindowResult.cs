using Scraper.Domain;
using Scraper.Exchange;

namespace Scraper.Pipeline;

/// <summary>What became of one window after all its attempts.</summary>
internal sealed record WindowResult(CandleWindow Window, ExchangeResponse<IReadOnlyList<Candle>> LastResponse, int Attempts)
{
    /// <summary>True when the exchange answered with a page of candles.</summary>
    public bool Fetched => LastResponse.IsSuccess;

    /// <summary>The candles of the page (empty when skipped).</summary>
    public IReadOnlyList<Candle> Candles => LastResponse.Value ?? [];
}
