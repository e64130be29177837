using Microsoft.Extensions.Logging;

namespace Scraper.Pipeline;

/// <summary>Log lines of the rate limiter's pauses; subscribed to <see cref="RateLimitGroup.Pauses"/>.</summary>
internal static partial class RateLimitLog
{
    public static void Paused(ILogger logger, RateLimitPause pause)
    {
        switch (pause.Reason)
        {
            case PauseReason.Banned:
                LogBanned(logger, pause.Group, pause.Until.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
                break;
            case PauseReason.RateLimited:
                LogRateLimited(logger, pause.Group, pause.Margin.TotalMilliseconds);
                break;
            default:
                LogExhausted(logger, pause.Group);
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Group}: the exchange blocked this IP (HTTP 418); no requests of any group until {Until}, then one probe")]
    private static partial void LogBanned(ILogger logger, string group, string until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Group}: rate-limited (HTTP 429); pausing one window and slowing to 1 s + {Margin:0} ms per batch")]
    private static partial void LogRateLimited(ILogger logger, string group, double margin);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Group}: the exchange reports its budget spent (Remaining-Req sec=0) earlier than expected; waiting for the window to pass")]
    private static partial void LogExhausted(ILogger logger, string group);
}
