using Scraper.Domain;
using Scraper.Exchange;

namespace Scraper.Pipeline;

/// <summary>What became of one window after all its attempts.</summary>
public sealed record WindowResult(CandleWindow Window, ExchangeResponse<IReadOnlyList<Candle>> LastResponse, int Attempts)
{
    /// <summary>True when the exchange answered with a page of candles.</summary>
    public bool Fetched => LastResponse.IsSuccess;

    /// <summary>The candles of the page (empty when skipped).</summary>
    public IReadOnlyList<Candle> Candles => LastResponse.Value ?? [];
}

/// <summary>An attempt that ended in a way a retry may fix (5xx, timeout, reset, bad body, 429, 418).</summary>
public sealed class RetryableExchangeException(ExchangeResponse<IReadOnlyList<Candle>> response)
    : Exception($"retryable {response.FailureReason}")
{
    /// <summary>The failed response.</summary>
    public ExchangeResponse<IReadOnlyList<Candle>> Response { get; } = response;
}

/// <summary>An attempt the exchange refused for good (400, 404): the window is skipped.</summary>
public sealed class PermanentExchangeException(ExchangeResponse<IReadOnlyList<Candle>> response)
    : Exception($"permanent {response.FailureReason}")
{
    /// <summary>The failed response.</summary>
    public ExchangeResponse<IReadOnlyList<Candle>> Response { get; } = response;
}

/// <summary>A first empty page for a window: asked once more before the window counts as covered.</summary>
public sealed class EmptyPageException(ExchangeResponse<IReadOnlyList<Candle>> response)
    : Exception("empty page")
{
    /// <summary>The empty response.</summary>
    public ExchangeResponse<IReadOnlyList<Candle>> Response { get; } = response;
}
