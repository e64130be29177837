using Microsoft.Extensions.Logging;

namespace Scraper.Pipeline;

/// <summary>Log lines of the rate limiter's pauses and fixed buckets; subscribed to <see cref="RateLimitGroup.Pauses"/> and <see cref="RateLimitGroup.BucketEdges"/>.</summary>
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

    public static void BucketEdge(ILogger logger, RateLimitBucketEdge edge)
    {
        if (edge.Known) LogBucketsLearnt(logger, edge.Group, edge.Uncertainty.TotalMilliseconds);
        else LogBucketsForgotten(logger, edge.Group);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Group}: the exchange counts in fixed buckets (learnt from its answers; the edge known within {Uncertainty:0.#} ms): a slice may also leave at a bucket's start")]
    private static partial void LogBucketsLearnt(ILogger logger, string group, double uncertainty);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Group}: the fixed-bucket edge no longer explains the exchange's answers (or a 429 came); back to the sliding window alone")]
    private static partial void LogBucketsForgotten(ILogger logger, string group);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Group}: the exchange blocked this IP (HTTP 418); no requests of any group until {Until}, then one probe")]
    private static partial void LogBanned(ILogger logger, string group, string until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Group}: rate-limited (HTTP 429); pausing one window and slowing to 1 s + {Margin:0} ms per batch")]
    private static partial void LogRateLimited(ILogger logger, string group, double margin);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Group}: the exchange reports its budget spent (Remaining-Req sec=0) earlier than expected; waiting for the window to pass")]
    private static partial void LogExhausted(ILogger logger, string group);
}
