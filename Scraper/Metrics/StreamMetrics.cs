using Prometheus;

namespace Scraper.Metrics;

/// <summary>
/// The metrics of live following over the WebSocket stream, declared once in the daemon's
/// registry. Fed by one subscriber to the live follower's events (wired in Hosting), never from
/// the stream or the pipeline themselves.
/// </summary>
internal sealed class StreamMetrics
{
    private readonly Gauge _connections;
    private readonly Counter _connects;
    private readonly Counter _disconnects;
    private readonly Counter _messages;
    private readonly Gauge _lastMessage;
    private readonly Histogram _messageAge;
    private readonly Histogram _lag;
    private readonly Gauge _seriesLag;
    private readonly Counter _passes;
    private readonly Counter _missing;
    private readonly Gauge _fallback;

    /// <summary>Creates the metrics in <paramref name="registry"/>.</summary>
    public StreamMetrics(CollectorRegistry registry)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        _connections = f.CreateGauge("scraper_stream_connections", "WebSocket stream connections open and subscribed.");
        _connects = f.CreateCounter("scraper_stream_connects_total", "Stream connections established.");
        _disconnects = f.CreateCounter("scraper_stream_disconnects_total", "Stream connections that ended or could not be established, by reason (closed, aborted, dead, refused).", "reason");
        _messages = f.CreateCounter("scraper_stream_messages_total", "Stream messages received, by type (candle, ticker, status, error, malformed).", "type");
        _lastMessage = f.CreateGauge("scraper_stream_last_message_timestamp_seconds", "Unix time the last stream message was received.");
        _messageAge = f.CreateHistogram("scraper_stream_message_age_seconds", "Age of stream candle and ticker messages at receipt: now minus the exchange's timestamp.",
            new HistogramConfiguration { Buckets = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300] });
        _lag = f.CreateHistogram("scraper_live_lag_seconds", "From an interval's close to its stream candle being stored (candles stored after their close).",
            new HistogramConfiguration { Buckets = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120] });
        _seriesLag = f.CreateGauge("scraper_live_series_lag_seconds", "The latest close-to-stored lag of the series' stream candles.", "market", "unit");
        _passes = f.CreateCounter("scraper_live_reconcile_passes_total", "REST passes of live following, by reason (reconcile, poll).", "reason");
        _missing = f.CreateCounter("scraper_live_reconcile_missing_candles_total", "Candles reconciliation stored that the stream had not delivered (lost messages or outages).", "market", "unit");
        _fallback = f.CreateGauge("scraper_live_fallback", "1 while the stream cannot be established and the minute series are polled by REST.");
        _fallback.Set(0);
        _connections.Set(0);
    }

    /// <summary>A connection is up.</summary>
    public void Connected()
    {
        _connects.Inc();
        _connections.Inc();
    }

    /// <summary>A connection ended (<paramref name="wasConnected"/>) or an attempt failed.</summary>
    public void Disconnected(string reason, bool wasConnected)
    {
        _disconnects.WithLabels(reason).Inc();
        if (wasConnected) _connections.Dec();
    }

    /// <summary>A message of <paramref name="type"/> received at <paramref name="receivedUnixSeconds"/>; <paramref name="ageSeconds"/> when it carries the exchange's time.</summary>
    public void Message(string type, double receivedUnixSeconds, double? ageSeconds)
    {
        _messages.WithLabels(type).Inc();
        _lastMessage.Set(receivedUnixSeconds);
        if (ageSeconds is { } age) _messageAge.Observe(Math.Max(0, age));
    }

    /// <summary>A stream candle of a series stored <paramref name="seconds"/> after its close.</summary>
    public void Lag(string market, string unit, double seconds)
    {
        _lag.Observe(seconds);
        _seriesLag.WithLabels(market, unit).Set(seconds);
    }

    /// <summary>A REST pass started.</summary>
    public void PassStarted(string reason) => _passes.WithLabels(reason).Inc();

    /// <summary>Reconciliation found <paramref name="candles"/> candles the stream had missed.</summary>
    public void MissingFound(string market, string unit, long candles) => _missing.WithLabels(market, unit).Inc(candles);

    /// <summary>Polling instead of streaming (true) or back to the stream (false).</summary>
    public void Fallback(bool polling) => _fallback.Set(polling ? 1 : 0);
}
