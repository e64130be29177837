using Scraper.Domain;
using Scraper.Exchange;

namespace Scraper.Pipeline;

/// <summary>
/// Everything the pipeline reports to <see cref="IPipelineTelemetry"/>: requests and their answers,
/// retries and skipped windows, what was stored, the progress of a pass and the exchange's clock.
/// Groups and series are the only identities; no event carries a secret.
/// </summary>
internal abstract record PipelineEvent
{
    private PipelineEvent()
    {
    }

    /// <summary>An attempt got its permit and is being sent; <paramref name="Retry"/> when it is not the first of its request.</summary>
    public sealed record AttemptSent(string Group, bool Retry) : PipelineEvent;

    /// <summary>An attempt's answer (or its failure to get one).</summary>
    public sealed record ResponseReceived(string Group, ExchangeOutcome Outcome, string? FailureReason, TimeSpan Duration, RemainingRequests? Remaining) : PipelineEvent;

    /// <summary>A window is asked for again, after <paramref name="Delay"/> and a new permit.</summary>
    public sealed record WindowRetried(SeriesKey Series, TimeSpan Delay, AttemptState State) : PipelineEvent;

    /// <summary>A window was given up: it stays a gap until a later pass.</summary>
    public sealed record WindowSkipped(SeriesKey Series) : PipelineEvent;

    /// <summary>A polled value (ticker, balances) arrived but could not be applied.</summary>
    public sealed record ApplyFailed(string Group) : PipelineEvent;

    /// <summary>A page was stored: <paramref name="Count"/> candles upserted, <paramref name="Newest"/> the start of its newest kept candle.</summary>
    public sealed record CandlesStored(SeriesKey Series, int Count, DateTimeOffset? Newest) : PipelineEvent;

    /// <summary>Candles of a page that were not what was asked for, by what was done with them.</summary>
    public sealed record UnexpectedCandles(SeriesKey Series, string Action, int Count) : PipelineEvent;

    /// <summary>A database write failed.</summary>
    public sealed record StoreFailed : PipelineEvent;

    /// <summary>A series is part of a pass (every series, every pass, so its metrics exist from the start).</summary>
    public sealed record SeriesPlanned(SeriesKey Series) : PipelineEvent;

    /// <summary>Progress of a series in the running pass: covered share (0..1) and seconds left (-1 unknown).</summary>
    public sealed record PassProgress(SeriesKey Series, double Ratio, double EtaSeconds) : PipelineEvent;

    /// <summary>After a pass: the series is covered without a gap from its start up to <paramref name="Until"/>.</summary>
    public sealed record CoveredUntil(SeriesKey Series, DateTimeOffset Until) : PipelineEvent;

    /// <summary>The backfill of the series is complete; it is followed from now on.</summary>
    public sealed record Following(SeriesKey Series) : PipelineEvent;

    /// <summary>This host's clock minus the exchange's, from one response's Date header.</summary>
    public sealed record ClockSkewMeasured(TimeSpan Skew) : PipelineEvent;
}
