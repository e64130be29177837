using Microsoft.Extensions.Logging;
using Scraper.Exchange;

namespace Scraper.Pipeline;

/// <summary>
/// Compares this host's clock with the exchange's, as each response's <c>Date</c> header shows it:
/// reports the skew, warns once when it grows past <see cref="WarnAbove"/> and says once when it is
/// back within half of that. Coverage does not rely on it (each page is capped by its own Date),
/// but a host running ahead keeps seeing its newest minutes as gaps until the exchange has them,
/// and one running behind follows late.
/// </summary>
internal sealed partial class ClockSkewMonitor(IPipelineTelemetry telemetry, ILogger logger)
{
    /// <summary>A skew beyond this is logged; a second of it is the header's resolution.</summary>
    public static readonly TimeSpan WarnAbove = TimeSpan.FromSeconds(5);

    private readonly object _gate = new();
    private bool _warned;

    /// <summary>Records one response's reading of the exchange's clock; nothing without a Date header.</summary>
    public void Observe(ExchangeDate? date)
    {
        if (date is null) return;
        var skew = date.Skew;
        bool warn = false, recovered = false;
        lock (_gate)
        {
            telemetry.Report(new PipelineEvent.ClockSkewMeasured(skew));
            if (!_warned && skew.Duration() > WarnAbove) _warned = warn = true;
            else if (_warned && skew.Duration() <= WarnAbove / 2) (_warned, recovered) = (false, true);
        }
        if (warn) LogSkewed(logger, skew.Duration().TotalSeconds, skew > TimeSpan.Zero ? "ahead of" : "behind");
        if (recovered) LogInSync(logger, skew.TotalSeconds);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "this host's clock is {Seconds:0.0} s {Direction} the exchange's (its Date header): candles count as complete only by the exchange's clock, so a host ahead leaves its newest minutes as gaps until the exchange has them; check the time synchronisation (timedatectl, chronyc tracking)")]
    private static partial void LogSkewed(ILogger logger, double seconds, string direction);

    [LoggerMessage(Level = LogLevel.Information, Message = "this host's clock agrees with the exchange's again ({Seconds:0.0} s)")]
    private static partial void LogInSync(ILogger logger, double seconds);
}
