namespace Scraper.Exchange;

/// <summary>One currency balance from GET /v1/accounts (keyed API).</summary>
internal sealed record Account(
    string Currency,
    decimal Balance,
    decimal Locked,
    decimal AvgBuyPrice,
    string UnitCurrency);
