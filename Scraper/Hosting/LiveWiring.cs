using System.Reactive.Concurrency;
using Microsoft.Extensions.Logging;
using Scraper.Exchange.Streaming;
using Scraper.Metrics;
using Scraper.Pipeline;
using Scraper.Pipeline.Live;
using Scraper.Storage;

namespace Scraper.Hosting;

/// <summary>
/// Follow mode after the backfill: the live follower over the WebSocket stream (--live stream), or
/// polling (--live poll). Day candles are not on the stream and are polled by the follower, but
/// their markets' ticker still comes from the stream, so it is opened for day-only series too. Its events feed <see cref="StreamMetrics"/>
/// and <paramref name="events"/> (the ticker: stream prices, and what REST must still poll).
/// Scrapers sharing a PostgreSQL database each receive every series from the stream but write and
/// reconcile only the series whose follow lease they hold (<see cref="FleetWork.Followed"/>).
/// </summary>
internal sealed class LiveWiring(ScraperSettings settings, ICandleStore store, CandleCollector collector, ScraperMetrics metrics,
    ILoggerFactory loggers, TimeProvider time, IScheduler scheduler, IObserver<LiveEvent> events, FleetWork fleet)
{
    /// <summary>Follows until <paramref name="stop"/>.</summary>
    public async Task FollowAsync(CancellationToken stop)
    {
        if (settings.Live == LiveSource.Poll)
        {
            await collector.FollowAsync(stop);
            return;
        }
        var stream = new UpbitStream(new StreamOptions
        {
            Url = StreamOptions.UrlFor(settings.UpbitUrl),
            PingInterval = settings.StreamPing,
            DeadAfter = settings.StreamPing * 1.5,
            ConnectTimeout = settings.RequestTimeout,
            BindAddress = settings.BindAddress,
        }, time);
        await using var share = fleet.Follow(settings.Series, stop);
        var follower = new LiveFollower(settings.Series, stream.Follow(StreamSubscription.For(settings.Series, settings.Markets)), collector, store,
            new LiveOptions { ReconcileEvery = settings.ReconcileEvery }, time, scheduler, loggers.CreateLogger<LiveFollower>(), share is null ? null : fleet.Followed);
        var streamMetrics = new StreamMetrics(metrics.Registry);
        var log = loggers.CreateLogger("Scraper.Metrics");
        using var publishing = follower.Events.Subscribe(e => Publish(streamMetrics, e),
            onError: e => log.LogError("live metrics stopped: {Type}: {Message}", e.GetType().Name, e.Message));
        using var forwarding = follower.Events.Subscribe(events.OnNext,
            onError: e => log.LogError("live events for the ticker stopped: {Type}: {Message}", e.GetType().Name, e.Message));
        if (share is null) foreach (var key in settings.Series) metrics.Following.WithLabels(key.Market, key.Unit.Name).Set(1); // else FleetSetup: the series held
        await follower.RunAsync(stop);
    }

    /// <summary>One live event into the metrics.</summary>
    internal static void Publish(StreamMetrics m, LiveEvent e)
    {
        switch (e)
        {
            case LiveStreamEvent { Event: var s }:
                PublishStream(m, s);
                break;
            case LiveStored { Lag: { } lag } stored:
                m.Lag(stored.Series.Market, stored.Series.Unit.Name, lag.TotalSeconds);
                break;
            case LiveModeChanged mode:
                m.Fallback(!mode.Streaming);
                break;
            case LiveReconcileStarted pass:
                m.PassStarted(pass.Reason);
                break;
            case LiveReconciled { MissingFound: > 0 } r:
                m.MissingFound(r.Series.Market, r.Series.Unit.Name, r.MissingFound);
                break;
        }
    }

    private static void PublishStream(StreamMetrics m, StreamEvent e)
    {
        var received = e.At.ToUnixTimeMilliseconds() / 1000.0;
        switch (e)
        {
            case StreamConnected:
                m.Connected();
                break;
            case StreamDisconnected d:
                m.Disconnected(d.Reason, d.WasConnected);
                break;
            case StreamCandle c:
                m.Message("candle", received, received - c.Candle.Timestamp / 1000.0);
                break;
            case StreamTicker t:
                m.Message("ticker", received, received - t.Timestamp / 1000.0);
                break;
            case StreamStatus:
                m.Message("status", received, null);
                break;
            case StreamError:
                m.Message("error", received, null);
                break;
            case StreamMalformed:
                m.Message("malformed", received, null);
                break;
        }
    }
}
