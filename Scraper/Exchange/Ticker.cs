namespace Scraper.Exchange;

/// <summary>The live quote of one market from GET /v1/ticker.</summary>
internal sealed record Ticker(
    string Market,
    decimal TradePrice,
    decimal OpeningPrice,
    decimal HighPrice,
    decimal LowPrice,
    decimal PrevClosingPrice,
    decimal ChangeRate,
    decimal AccTradeVolume24h,
    decimal AccTradePrice24h,
    long Timestamp);
