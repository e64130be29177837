using System.Collections.Concurrent;
using System.Reactive.Subjects;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Reactive.Testing;
using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Exchange.Streaming;
using Scraper.Metrics;
using Scraper.Pipeline;
using Scraper.Pipeline.Live;
using Scraper.Storage.Sqlite;
using Scraper.Tests.FakeExchange;

namespace Scraper.Tests.Pipeline.Live;

/// <summary>
/// The live follower with a scripted stream (a subject), the real collector and pipeline against an
/// in-process exchange answering from <see cref="FakeMarketData"/>, a real SQLite file, and virtual
/// time on both clocks.
/// </summary>
public sealed partial class LiveFollowerTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 30, TimeSpan.Zero);
    private static readonly SeriesKey Btc1 = new("KRW-BTC", CandleUnit.FromMinutes(1));
    private static readonly SeriesKey BtcDay = new("KRW-BTC", CandleUnit.Day);
    private readonly string _dir = Directory.CreateTempSubdirectory("bps-live-").FullName;
    private readonly TestScheduler _scheduler = new();
    private readonly FakeTimeProvider _time = new(T0);
    private readonly Subject<StreamEvent> _stream = new();
    private readonly ConcurrentQueue<LiveEvent> _events = new();
    private readonly FakeMarketData _data = new(new FakeExchangeOptions());
    private readonly ConcurrentQueue<(DateTimeOffset At, string Market)> _requests = new();
    private readonly SqliteCandleStore _store;
    private readonly RateLimitGroup _limiter;
    private readonly FunctionClient _client;
    private readonly CandleCollector _collector;
    private readonly LiveFollower _follower;
    private readonly CancellationTokenSource _stop = new();

    public LiveFollowerTests()
    {
        _scheduler.AdvanceTo(T0.UtcTicks);
        _store = SqliteCandleStore.Open(Path.Combine(_dir, "candles.db"), _time);
        _limiter = new RateLimitGroup("candles", new RateLimitOptions { RequestsPerWindow = 10 }, _scheduler);
        _client = new FunctionClient(q => Task.FromResult(Answer(q)));
        _follower = CreateFollower([Btc1, BtcDay], new LiveOptions { ReconcileEvery = TimeSpan.FromMinutes(5) }, out _collector);
        _follower.Events.Subscribe(_events.Enqueue);
    }

    /// <summary>A follower of <paramref name="series"/> over the shared stream, client, limiter and store.</summary>
    private LiveFollower CreateFollower(IReadOnlyList<SeriesKey> series, LiveOptions options, out CandleCollector collector)
    {
        var lines = new LogLines();
        var metrics = new MetricsSubscriber(new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test"));
        var pipeline = new CandleFetchPipeline(_client, _limiter, new RetryPolicy(), _scheduler, metrics, new FailureLog(lines.For("x"), _time), lines.For<CandleFetchPipeline>());
        var writer = new CandleResultWriter(_store, metrics, _time, lines.For<CandleResultWriter>());
        collector = new CandleCollector(series, T0 - TimeSpan.FromHours(2), _store, pipeline, _limiter, writer, metrics, _time, _scheduler, lines.For<CandleCollector>());
        return new LiveFollower(series, _stream, collector, _store, options, _time, _scheduler, lines.For<LiveFollower>());
    }

    public void Dispose()
    {
        _stop.Cancel();
        _limiter.Dispose();
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private ExchangeResponse<IReadOnlyList<Candle>> Answer(CandleQuery q)
    {
        var now = _time.GetUtcNow();
        _requests.Enqueue((now, q.Market));
        var candles = new List<Candle>();
        for (var start = q.Unit.AlignDown(q.To - TimeSpan.FromTicks(1)); candles.Count < q.Count && start >= q.To - q.Unit.Interval * q.Count; start -= q.Unit.Interval)
            if (_data.CandleAt(q.Market, q.Unit, start, now) is { } c) candles.Add(c);
        return new ExchangeResponse<IReadOnlyList<Candle>>(ExchangeOutcome.Success, candles, 200, null, TimeSpan.FromMilliseconds(5));
    }

    /// <summary>Moves both clocks in steps, letting the follower's continuations run between them.</summary>
    private async Task RunForAsync(TimeSpan span)
    {
        var step = TimeSpan.FromMilliseconds(500);
        for (var t = TimeSpan.Zero; t < span; t += step)
        {
            _time.Advance(step);
            _scheduler.AdvanceBy(step.Ticks);
            for (var i = 0; i < 3; i++) await Task.Yield();
            await Task.Delay(1);
        }
    }

    private async Task SettleAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 400 && !condition(); i++) await RunForAsync(TimeSpan.FromMilliseconds(500));
        Assert.True(condition(), what);
    }

    private static StreamCandle Update(Candle c, DateTimeOffset at) => new(at, c, Snapshot: false);

    [Fact]
    public async Task Stream_candles_are_stored_as_they_arrive_the_last_update_wins_and_nothing_is_marked_covered()
    {
        var run = _follower.RunAsync(_stop.Token);
        var start = Btc1.Unit.AlignDown(T0);
        var first = _data.CandleAt("KRW-BTC", Btc1.Unit, start, T0)!;
        var last = first with { TradePrice = first.TradePrice + 1, Timestamp = first.Timestamp + 1000 };
        _stream.OnNext(Update(first, T0));
        _stream.OnNext(Update(last, T0));
        _stream.OnNext(Update(_data.CandleAt("KRW-BTC", Btc1.Unit, start - TimeSpan.FromMinutes(30), T0)!, T0)); // REST's, not the stream's
        await SettleAsync(() => _store.CountCandles(Btc1) > 0, "the stream candle stored");
        Assert.Equal([last], _store.ReadCandles(Btc1).ToList());
        Assert.Empty(_store.GetCoverage(Btc1));
        Assert.Equal(0, _client.Sent);
        Assert.False(run.IsCompleted);
    }

    [Fact]
    public async Task A_connection_starts_a_reconciliation_that_covers_and_counts_what_the_stream_missed()
    {
        _ = _follower.RunAsync(_stop.Token);
        _stream.OnNext(new StreamConnected(T0, 0, 2));
        await SettleAsync(() => _events.OfType<LiveReconciled>().Any(), "a reconciliation");
        var coverableEnd = WindowPlanner.CoverableEnd(Btc1, T0);
        Assert.Equal([new TimeRange(Btc1.Unit.AlignDown(T0 - TimeSpan.FromHours(2)), coverableEnd)], _store.GetCoverage(Btc1));
        var expected = _data.ClosedCandles("KRW-BTC", Btc1.Unit, T0 - TimeSpan.FromHours(2), coverableEnd, T0);
        Assert.Equal(expected.Count, Assert.Single(_events.OfType<LiveReconciled>()).MissingFound);
        Assert.Equal(expected, _store.ReadCandles(Btc1, null, coverableEnd).ToList());
        Assert.Empty(_store.GetCoverage(BtcDay)); // the day series is polled after its own close only
    }

    [Fact]
    public async Task A_streamed_series_costs_a_request_per_reconciliation_not_one_per_minute()
    {
        _ = _follower.RunAsync(_stop.Token);
        _stream.OnNext(new StreamConnected(T0, 0, 2));
        await SettleAsync(() => _events.OfType<LiveReconciled>().Any(), "the first reconciliation");
        var afterFirst = _client.Sent;
        await RunForAsync(TimeSpan.FromMinutes(12));
        // The follow-up once the minute that closed before the connection can be covered (00:01:01), then one every 5 minutes on the series' slot (00:05:30, 00:10:30).
        Assert.Equal(3, _client.Sent - afterFirst);
        Assert.Equal(WindowPlanner.CoverableEnd(Btc1, T0.Date.AddMinutes(10.5)), _store.GetCoverage(Btc1)[^1].End);
    }

    [Fact]
    public async Task Periodic_reconciliations_are_spread_evenly_over_the_period_and_a_connection_reconciles_every_series_at_once()
    {
        SeriesKey[] series = [.. new[] { "KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL" }.Select(m => new SeriesKey(m, CandleUnit.FromMinutes(1)))];
        var follower = CreateFollower(series, new LiveOptions { ReconcileEvery = TimeSpan.FromMinutes(8) }, out _);
        _ = follower.RunAsync(_stop.Token);
        _stream.OnNext(new StreamConnected(T0, 0, series.Length));
        await RunForAsync(TimeSpan.FromMinutes(15.5));
        var log = string.Join(", ", _requests.Select(r => $"{r.At:HH:mm:ss} {r.Market[4..]}"));

        // On connecting, every series at once (then the follow-up once the minute before it can be covered, at 00:01:01).
        Assert.True(series.Length == _requests.Where(r => r.At < T0.AddMinutes(1)).Select(r => r.Market).Distinct().Count(), log);
        // From then on one series every 2 minutes (none sooner than half a period after the follow-up):
        // each 8-minute period reconciles every series once, never all together.
        var steadyFrom = T0.Date.AddMinutes(6);
        var perSlot = Enumerable.Range(0, 5).Select(i => _requests.Count(r => r.At >= steadyFrom.AddMinutes(2 * i) && r.At < steadyFrom.AddMinutes(2 * i + 2))).ToList();
        Assert.True(perSlot.All(n => n == 1), $"requests per 2 minutes from 00:06: {string.Join(' ', perSlot)}; {log}");
        Assert.Equal(series.Select(s => s.Market).Order(), _requests.Where(r => r.At >= steadyFrom && r.At < steadyFrom.AddMinutes(8)).Select(r => r.Market).Order());

        var before = _requests.Count;
        var reconnected = _time.GetUtcNow();
        _stream.OnNext(new StreamConnected(reconnected, 1, series.Length));
        await RunForAsync(TimeSpan.FromSeconds(25));
        Assert.Equal(series.Length, _requests.Skip(before).Select(r => r.Market).Distinct().Count());
    }

    [Fact]
    public async Task After_failed_attempts_the_minute_series_are_polled_until_the_stream_is_established()
    {
        _ = _follower.RunAsync(_stop.Token);
        // A few quick refusals are bridged: no polling of every series for a short outage.
        for (var i = 0; i < 3; i++)
        {
            _stream.OnNext(new StreamDisconnected(_time.GetUtcNow(), 0, "refused", "HTTP 503", false, TimeSpan.FromSeconds(1)));
            await RunForAsync(TimeSpan.FromSeconds(2));
        }
        await RunForAsync(TimeSpan.FromSeconds(20));
        Assert.Empty(_events.OfType<LiveModeChanged>());
        Assert.Equal(0, _client.Sent);
        // Refused for longer than FallbackAfter: polled.
        await RunForAsync(TimeSpan.FromSeconds(5));
        _stream.OnNext(new StreamDisconnected(_time.GetUtcNow(), 0, "refused", "HTTP 503", false, TimeSpan.FromSeconds(1)));
        await SettleAsync(() => _events.OfType<LiveModeChanged>().Any(), "the fallback");
        Assert.False(_events.OfType<LiveModeChanged>().Single().Streaming);
        await RunForAsync(TimeSpan.FromMinutes(4));
        var polled = _client.Sent;
        Assert.True(polled >= 4, $"{polled} requests while polling for 4 minutes");
        Assert.Equal(WindowPlanner.CoverableEnd(Btc1, _time.GetUtcNow()), _store.GetCoverage(Btc1)[^1].End);

        _stream.OnNext(new StreamConnected(_time.GetUtcNow(), 0, 2));
        await SettleAsync(() => _events.OfType<LiveModeChanged>().Count() == 2, "the stream back");
        Assert.True(_events.OfType<LiveModeChanged>().Last().Streaming);
        await RunForAsync(TimeSpan.FromMinutes(4));
        Assert.True(_client.Sent - polled <= 2, $"{_client.Sent - polled} requests in 4 minutes of streaming");
    }

    [Fact]
    public async Task A_failing_store_ends_the_follower_with_the_store_error()
    {
        var run = _follower.RunAsync(_stop.Token);
        _store.Dispose();
        _stream.OnNext(Update(_data.CandleAt("KRW-BTC", Btc1.Unit, Btc1.Unit.AlignDown(T0), T0)!, T0));
        await SettleAsync(() => run.IsCompleted, "the follower to end");
        await Assert.ThrowsAnyAsync<Exception>(() => run);
    }
}
