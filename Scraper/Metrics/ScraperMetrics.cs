using Prometheus;

namespace Scraper.Metrics;

/// <summary>
/// Every metric the daemon exports, declared once with help text and bounded labels (group,
/// reason, outcome, market, unit, currency — never a timestamp or a window). One instance per
/// registry, so tests can run several daemons in one process.
/// </summary>
internal sealed class ScraperMetrics
{
    private static readonly string[] Group = ["group"];
    private static readonly string[] Series = ["market", "unit"];

    /// <summary>Creates the metrics in <paramref name="registry"/>, with process metrics.</summary>
    public ScraperMetrics(CollectorRegistry registry, string version)
    {
        Registry = registry;
        DotNetStats.Register(registry);
        var f = Prometheus.Metrics.WithCustomRegistry(registry);

        RequestNew = f.CreateCounter("upbit_quotation_request_new_total", "First attempts of requests to the exchange.", Group);
        RequestRetry = f.CreateCounter("upbit_quotation_request_retry_total", "Retried attempts of requests to the exchange.", Group);
        ResponseSuccess = f.CreateCounter("upbit_quotation_response_success_total", "Responses that succeeded.", Group);
        ResponseFailed = f.CreateCounter("upbit_quotation_response_failed_total", "Responses that failed, by reason.", "group", "reason");
        RequestDuration = f.CreateHistogram("upbit_request_duration_seconds", "Duration of requests to the exchange.",
            new HistogramConfiguration
            {
                LabelNames = ["group", "outcome"],
                Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
            });
        RemainingRequests = f.CreateGauge("upbit_remaining_requests", "Requests left in the current second, from the last Remaining-Req header.", Group);
        RateLimited = f.CreateCounter("upbit_rate_limited_total", "HTTP 429 responses (over the rate limit).", Group);
        Banned = f.CreateCounter("upbit_banned_total", "HTTP 418 responses (IP blocked).", Group);
        LimiterPaused = f.CreateGauge("upbit_rate_limiter_paused", "1 while the group is paused by sec=0, 429 or 418.", Group);
        LimiterWindow = f.CreateGauge("upbit_rate_limiter_window_seconds", "Window the limiter currently enforces (1 s plus margin).", Group);
        LimiterBucketEdgeKnown = f.CreateGauge("upbit_rate_limiter_bucket_edge_known", "1 once the limiter learnt from the exchange's answers that it counts in fixed buckets, and where an edge lies; 0 on a sliding window.", Group);
        LimiterBucketEdgeUncertainty = f.CreateGauge("upbit_rate_limiter_bucket_edge_uncertainty_seconds", "Width of the interval the learnt bucket edge lies in; the whole window while none is known.", Group);
        // Absent until the first response with a Date header: an unknown skew is not a zero one.
        ClockSkew = f.CreateGauge("upbit_clock_skew_seconds", "This host's clock minus the exchange's (its Date header, at the middle of the round trip); positive when this host is ahead.",
            new GaugeConfiguration { SuppressInitialValue = true });

        BackfillProgress = f.CreateGauge("scraper_backfill_progress_ratio", "Share of the wanted range that is covered (0..1).", Series);
        BackfillEta = f.CreateGauge("scraper_backfill_eta_seconds", "Estimated seconds until the backfill is complete; absent once it is.", Series);
        WindowsSkipped = f.CreateCounter("scraper_backfill_windows_skipped_total", "Windows given up after permanent errors or too many attempts.", Series);
        CandlesStored = f.CreateCounter("scraper_candles_stored_total", "Candles written to the database (upserts).", Series);
        NewestCandle = f.CreateGauge("scraper_newest_candle_timestamp_seconds", "Unix time of the start of the newest stored candle.", Series);
        CoveredUntil = f.CreateGauge("scraper_covered_until_timestamp_seconds", "Unix time up to which the series is covered without a gap since --since.", Series);
        // Per unit, not per series: the same for every market, and 1,600 followed series would repeat it 1,600 times.
        CandleInterval = f.CreateGauge("scraper_candle_interval_seconds", "Length of one candle of the unit.", "unit");
        Following = f.CreateGauge("scraper_following", "1 once the backfill of the series is complete and the daemon follows it (in a fleet: while it holds the series' follow lease).", Series);
        StoreFailures = f.CreateCounter("scraper_store_failures_total", "Database writes that failed.");
        StoreAvailable = f.CreateGauge("scraper_store_available", "0 while the scraper waits for an unavailable database (PostgreSQL down or restarting), else 1.");
        StoreConnectionFailures = f.CreateCounter("scraper_store_connection_failures_total", "Database calls that failed transiently and are retried after a wait.");
        UnexpectedCandles = f.CreateCounter("scraper_unexpected_candles_total", "Candles outside the asked window or for another market, by what was done with them.", "market", "unit", "action");

        TickerPrice = f.CreateGauge("upbit_ticker_trade_price", "Last trade price per market, from the ticker.", "market");
        TickerTimestamp = f.CreateGauge("upbit_ticker_timestamp_seconds", "Unix time of the ticker's last trade per market.", "market");
        AccountBalance = f.CreateGauge("upbit_account_balance", "Available balance per currency (keyed API).", "currency");
        AccountLocked = f.CreateGauge("upbit_account_locked", "Balance locked in orders per currency (keyed API).", "currency");

        f.CreateGauge("scraper_build_info", "Version of the running daemon.", "version").WithLabels(version).Set(1);

        // Counters that alerts take increase() of must exist at 0 before their first event, or
        // the first 429 would create the series at 1 and increase() would never see it.
        foreach (var group in new[] { "candles", "ticker", "accounts" })
        {
            RequestNew.WithLabels(group);
            RequestRetry.WithLabels(group);
            ResponseSuccess.WithLabels(group);
            RateLimited.WithLabels(group);
            Banned.WithLabels(group);
            foreach (var reason in KnownFailureReasons) ResponseFailed.WithLabels(group, reason);
        }
        StoreFailures.Inc(0);
        StoreConnectionFailures.Inc(0);
        StoreAvailable.Set(1);
    }

    /// <summary>
    /// Failure reasons created at 0 for every group, so a dashboard shows 0 rather than no data
    /// before the first failure: the client's fixed reasons and the usual 5xx. Other codes
    /// (http_404, …) appear when they first happen.
    /// </summary>
    public static readonly IReadOnlyList<string> KnownFailureReasons =
        ["timeout", "connection", "malformed_body", "body_too_large", "rate_limited", "banned", "http_500", "http_502", "http_503", "http_504"];

    /// <summary>Creates the per-series children at their zero values, so every series shows from the start.</summary>
    public void InitSeries(string market, string unit)
    {
        CandlesStored.WithLabels(market, unit);
        WindowsSkipped.WithLabels(market, unit);
        Following.WithLabels(market, unit);
    }

    /// <summary>The registry served on /metrics.</summary>
    public CollectorRegistry Registry { get; }

#pragma warning disable CS1591 // the help texts above document each metric
    public Counter RequestNew { get; }
    public Counter RequestRetry { get; }
    public Counter ResponseSuccess { get; }
    public Counter ResponseFailed { get; }
    public Histogram RequestDuration { get; }
    public Gauge RemainingRequests { get; }
    public Counter RateLimited { get; }
    public Counter Banned { get; }
    public Gauge LimiterPaused { get; }
    public Gauge LimiterWindow { get; }
    public Gauge LimiterBucketEdgeKnown { get; }
    public Gauge LimiterBucketEdgeUncertainty { get; }
    public Gauge ClockSkew { get; }
    public Gauge BackfillProgress { get; }
    public Gauge BackfillEta { get; }
    public Counter WindowsSkipped { get; }
    public Counter CandlesStored { get; }
    public Gauge NewestCandle { get; }
    public Gauge CoveredUntil { get; }
    public Gauge CandleInterval { get; }
    public Gauge Following { get; }
    public Counter StoreFailures { get; }
    public Gauge StoreAvailable { get; }
    public Counter StoreConnectionFailures { get; }
    public Counter UnexpectedCandles { get; }
    public Gauge TickerPrice { get; }
    public Gauge TickerTimestamp { get; }
    public Gauge AccountBalance { get; }
    public Gauge AccountLocked { get; }
#pragma warning restore CS1591
}
