using Microsoft.Extensions.Logging;
using Scraper.Exchange;

namespace Scraper.Hosting;

/// <summary>
/// Refuses configured markets the exchange does not list (exit 78), with one request to
/// GET /v1/market/all before anything is opened or written. When the exchange cannot be asked
/// (network down at boot), the check is skipped with a warning: an outage must not stop the daemon.
/// </summary>
internal static partial class MarketCheck
{
    /// <summary>Throws <see cref="ConfigException"/> naming the unknown markets.</summary>
    /// <param name="settings">The markets to check.</param>
    /// <param name="fetchMarkets">Asks the exchange for its markets (through the rate limiter); null when the limiter was stopped first.</param>
    /// <param name="logger">Where a check that could not be made is logged.</param>
    /// <param name="cancellationToken">Ends the check; the markets are then not checked.</param>
    public static async Task EnsureListedAsync(ScraperSettings settings, Func<CancellationToken, Task<ExchangeResponse<IReadOnlyList<string>>?>> fetchMarkets,
        ILogger logger, CancellationToken cancellationToken)
    {
        ExchangeResponse<IReadOnlyList<string>>? response;
        try
        {
            response = await fetchMarkets(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        if (response is null) return;
        if (!response.IsSuccess || response.Value is null)
        {
            LogUnchecked(logger, response.FailureReason ?? "unknown", string.Join(',', settings.Markets));
            return;
        }
        var listed = response.Value.ToHashSet(StringComparer.Ordinal);
        var unknown = settings.Markets.Where(m => !listed.Contains(m)).ToList();
        if (unknown.Count == 0) return;
        var examples = string.Join(',', response.Value.Where(m => m.StartsWith(unknown[0].Split('-')[0] + "-", StringComparison.Ordinal)).Take(3));
        throw new ConfigException($"invalid --markets '{string.Join(',', settings.Markets)}': the exchange lists no market {string.Join(", ", unknown)} (expected markets from GET /v1/market/all{(examples.Length > 0 ? ", e.g. " + examples : "")})");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not check the configured markets ({Markets}) against the exchange's list ({Reason}); going on")]
    private static partial void LogUnchecked(ILogger logger, string reason, string markets);
}
