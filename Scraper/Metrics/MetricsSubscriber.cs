using Scraper.Exchange;
using Scraper.Exchange.Streaming;
using Scraper.Pipeline;

namespace Scraper.Metrics;

/// <summary>
/// Turns the pipeline's events into the daemon's metrics: the one place that increments a counter
/// or sets a gauge of <see cref="ScraperMetrics"/>. The pipeline knows nothing of Prometheus.
/// </summary>
internal sealed class MetricsSubscriber(ScraperMetrics metrics) : IPipelineTelemetry
{
    /// <summary>The metrics this subscriber keeps.</summary>
    public ScraperMetrics Metrics => metrics;

    /// <inheritdoc />
    public void Report(PipelineEvent e)
    {
        switch (e)
        {
            case PipelineEvent.AttemptSent sent:
                (sent.Retry ? metrics.RequestRetry : metrics.RequestNew).WithLabels(sent.Group).Inc();
                break;
            case PipelineEvent.ResponseReceived response:
                Record(response);
                break;
            case PipelineEvent.WindowSkipped skipped:
                metrics.WindowsSkipped.WithLabels(skipped.Series.Market, skipped.Series.Unit.Name).Inc();
                break;
            case PipelineEvent.ApplyFailed failed:
                metrics.ResponseFailed.WithLabels(failed.Group, "apply_failed").Inc();
                break;
            case PipelineEvent.CandlesStored stored:
                metrics.CandlesStored.WithLabels(stored.Series.Market, stored.Series.Unit.Name).Inc(stored.Count);
                if (stored.Newest is { } newest)
                {
                    var gauge = metrics.NewestCandle.WithLabels(stored.Series.Market, stored.Series.Unit.Name);
                    if (newest.ToUnixTimeSeconds() > gauge.Value) gauge.Set(newest.ToUnixTimeSeconds());
                }
                break;
            case PipelineEvent.UnexpectedCandles unexpected:
                metrics.UnexpectedCandles.WithLabels(unexpected.Series.Market, unexpected.Series.Unit.Name, unexpected.Action).Inc(unexpected.Count);
                break;
            case PipelineEvent.StoreFailed:
                metrics.StoreFailures.Inc();
                break;
            case PipelineEvent.SeriesPlanned planned:
                metrics.CandleInterval.WithLabels(planned.Series.Unit.Name).Set(planned.Series.Unit.Interval.TotalSeconds);
                metrics.InitSeries(planned.Series.Market, planned.Series.Unit.Name);
                break;
            case PipelineEvent.PassProgress progress:
                metrics.BackfillProgress.WithLabels(progress.Series.Market, progress.Series.Unit.Name).Set(progress.Ratio);
                // A complete series has no ETA: thousands of followed series would each keep a 0 forever.
                if (progress.Ratio >= 1 && progress.EtaSeconds == 0) metrics.BackfillEta.RemoveLabelled(progress.Series.Market, progress.Series.Unit.Name);
                else metrics.BackfillEta.WithLabels(progress.Series.Market, progress.Series.Unit.Name).Set(progress.EtaSeconds);
                break;
            case PipelineEvent.CoveredUntil covered:
                metrics.CoveredUntil.WithLabels(covered.Series.Market, covered.Series.Unit.Name).Set(covered.Until.ToUnixTimeSeconds());
                break;
            case PipelineEvent.Following following:
                metrics.Following.WithLabels(following.Series.Market, following.Series.Unit.Name).Set(1);
                break;
            case PipelineEvent.ClockSkewMeasured skew:
                metrics.ClockSkew.Set(skew.Skew.TotalSeconds);
                break;
        }
    }

    /// <summary>Keeps the limiter gauges (paused, enforced window, fixed-bucket edge) current at every scrape.</summary>
    public void Watch(IReadOnlyList<RateLimitGroup> limiters) =>
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var limiter in limiters)
            {
                metrics.LimiterPaused.WithLabels(limiter.Name).Set(limiter.IsPaused ? 1 : 0);
                metrics.LimiterWindow.WithLabels(limiter.Name).Set(limiter.CurrentWindow.TotalSeconds);
                var (known, uncertainty) = limiter.BucketEdge;
                metrics.LimiterBucketEdgeKnown.WithLabels(limiter.Name).Set(known ? 1 : 0);
                metrics.LimiterBucketEdgeUncertainty.WithLabels(limiter.Name).Set(uncertainty.TotalSeconds);
            }
        });

    /// <summary>The ticker's prices, as polled.</summary>
    public void Tickers(IReadOnlyList<Ticker> tickers)
    {
        foreach (var t in tickers) Ticker(t.Market, t.TradePrice, t.Timestamp);
    }

    /// <summary>One market's price from the stream: the same gauges as a polled one.</summary>
    public void StreamTicker(StreamTicker t) => Ticker(t.Market, t.TradePrice, t.Timestamp);

    /// <summary>The account balances, as polled.</summary>
    public void Accounts(IReadOnlyList<Account> accounts)
    {
        foreach (var a in accounts)
        {
            metrics.AccountBalance.WithLabels(a.Currency).Set((double)a.Balance);
            metrics.AccountLocked.WithLabels(a.Currency).Set((double)a.Locked);
        }
    }

    private void Ticker(string market, decimal tradePrice, long timestampMs)
    {
        metrics.TickerPrice.WithLabels(market).Set((double)tradePrice);
        metrics.TickerTimestamp.WithLabels(market).Set(timestampMs / 1000.0);
    }

    private void Record(PipelineEvent.ResponseReceived response)
    {
        var group = response.Group;
        if (response.Remaining is { } remaining) metrics.RemainingRequests.WithLabels(group).Set(remaining.Second);
        var ok = response.Outcome == ExchangeOutcome.Success;
        metrics.RequestDuration.WithLabels(group, ok ? "success" : "failed").Observe(response.Duration.TotalSeconds);
        if (ok)
        {
            metrics.ResponseSuccess.WithLabels(group).Inc();
            return;
        }
        metrics.ResponseFailed.WithLabels(group, response.FailureReason ?? "unknown").Inc();
        if (response.Outcome == ExchangeOutcome.RateLimited) metrics.RateLimited.WithLabels(group).Inc();
        else if (response.Outcome == ExchangeOutcome.Banned) metrics.Banned.WithLabels(group).Inc();
    }
}
