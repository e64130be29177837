using System.Collections.Concurrent;
using System.Reactive.Linq;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Reactive.Testing;
using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Metrics;
using Scraper.Pipeline;
using Scraper.Storage;
using Scraper.Storage.Sqlite;
using Scraper.Tests.Pipeline;

namespace Scraper.Tests.Fleet;

/// <summary>
/// How much of a shared backlog one scraper keeps to itself, and how soon it sees that the chunks
/// others held are done: both decide how long the end of a pass is left to one scraper of a fleet.
/// </summary>
public sealed class LeasedPassClaimTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey Btc = new("KRW-BTC", CandleUnit.FromMinutes(1));
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(T0);
    private readonly TestScheduler _scheduler = new();

    public void Dispose() => _dir.Dispose();

    private readonly LogLines _lines = new();

    private (LeasedPass Pass, SqliteCandleStore Store, RateLimitGroup Limiter) Build(TestLeases leases, Func<CandleQuery, Task<ExchangeResponse<IReadOnlyList<Candle>>>> answer,
        IFleetEvents? events = null)
    {
        var lines = _lines;
        var metrics = new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test");
        var store = SqliteCandleStore.Open(_dir.Combine("candles.db"), _time);
        // The daemon's default: 10 candle requests/s, and in flight four seconds of it.
        var limiter = new RateLimitGroup("candles", new RateLimitOptions { RequestsPerWindow = 10 }, _scheduler);
        var pipeline = new CandleFetchPipeline(new FunctionClient(answer), limiter, new RetryPolicy(), _scheduler, new MetricsSubscriber(metrics),
            new FailureLog(lines.For("Scraper.Exchange"), _time), lines.For<CandleFetchPipeline>());
        return (new LeasedPass(leases, store, pipeline, events, _time, lines.For("Scraper.Fleet"), 40, CancellationToken.None), store, limiter);
    }

    /// <summary>The start of a chunk of the shared grid some days before T0, and the grid's span.</summary>
    private static (DateTimeOffset Cell, TimeSpan Span) Grid()
    {
        var span = Btc.Unit.Interval * CandleWindow.MaxCandles * LeasedPass.WindowsPerChunk;
        return (new DateTimeOffset(T0.UtcTicks - T0.UtcTicks % span.Ticks, TimeSpan.Zero) - 40 * span, span);
    }

    /// <summary>A plan of <paramref name="chunks"/> whole chunks of the grid, ten windows each.</summary>
    private static List<CandleWindow> WholeChunks(int chunks)
    {
        var (cell, span) = Grid();
        return [.. WindowPlanner.Split(Btc, [new TimeRange(cell, cell + chunks * span)])];
    }

    /// <summary>An exchange that never answers: the windows of a claimed chunk stay in flight.</summary>
    private static Task<ExchangeResponse<IReadOnlyList<Candle>>> Unanswered(CandleQuery _) => new TaskCompletionSource<ExchangeResponse<IReadOnlyList<Candle>>>().Task;

    private static async Task UntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition());
    }

    [Fact]
    public async Task A_scraper_keeps_two_chunks_of_the_backlog_a_second_of_its_budget_each_not_more()
    {
        var leases = new TestLeases(TimeSpan.FromSeconds(30), _time);
        var (pass, store, limiter) = Build(leases, Unanswered);
        using var _ = store;
        using var __ = limiter;
        var plan = WholeChunks(15);

        using var subscription = pass.Fetch(plan).Subscribe(_ => { }, _ => { });
        await UntilAsync(() => leases.Claims >= 1);
        await Task.Delay(200); // a second claim, if it would make one, is made now

        Assert.Equal(2, leases.Granted);
    }

    [Fact]
    public async Task A_scraper_holding_small_chunks_claims_until_it_holds_two_chunks_worth_of_windows()
    {
        var leases = new TestLeases(TimeSpan.FromSeconds(30), _time);
        var (pass, store, limiter) = Build(leases, Unanswered);
        using var _ = store;
        using var __ = limiter;
        // One window in each of 30 chunks, as at the start and the end of a series.
        var (cell, span) = Grid();
        var plan = Enumerable.Range(0, 30).SelectMany(k => WindowPlanner.Split(Btc, [new TimeRange(cell + k * span, cell + k * span + Btc.Unit.Interval * CandleWindow.MaxCandles)])).ToList();

        using var subscription = pass.Fetch(plan).Subscribe(_ => { }, _ => { });
        await UntilAsync(() => leases.Granted >= 2);
        await Task.Delay(200); // further claims, if it makes them, are made now

        Assert.Equal(2 * LeasedPass.WindowsPerChunk, leases.Granted);
    }

    [Fact]
    public async Task Chunks_others_fetched_meanwhile_are_dropped_from_the_plan_together_not_claimed_one_by_one()
    {
        var leases = new TestLeases(TimeSpan.FromSeconds(30), _time);
        var (pass, store, limiter) = Build(leases, Unanswered);
        using var _ = store;
        using var __ = limiter;
        var plan = WholeChunks(15);
        // Planned before the others fetched the first ten chunks.
        var (cell, span) = Grid();
        store.SaveResponse(Btc, [], new TimeRange(cell, cell + 10 * span));

        using var subscription = pass.Fetch(plan).Subscribe(_ => { }, _ => { });
        await Task.Delay(1000);

        Assert.Equal((2, 4), (leases.Claims, leases.Granted));
    }

    [Fact]
    public async Task A_scraper_left_without_chunks_sees_within_a_second_that_the_others_finished_the_rest_not_after_a_third_of_the_lease_period()
    {
        var leases = new TestLeases(TimeSpan.FromSeconds(30), _time) { OthersHoldAll = true };
        var (pass, store, limiter) = Build(leases, _ => throw new InvalidOperationException("nothing is left to fetch"));
        using var _ = store;
        using var __ = limiter;
        var range = new TimeRange(T0.AddDays(-1), T0);
        var plan = WindowPlanner.Split(Btc, [range]).ToList();
        var completed = new TaskCompletionSource();

        using var subscription = pass.Fetch(plan).Subscribe(_ => { }, e => completed.TrySetException(e), () => completed.TrySetResult());
        await UntilAsync(() => leases.Claims >= 1);
        // The others finish the rest and give their chunks back.
        store.SaveResponse(Btc, [], range);
        leases.OthersHoldAll = false;
        for (var i = 0; i < 12 && !completed.Task.IsCompleted; i++)
        {
            await Task.Delay(50); // the pass is waiting on the clock again before it moves
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.True(await Task.WhenAny(completed.Task, Task.Delay(TimeSpan.FromSeconds(5))) == completed.Task,
            $"the pass still waits after 1.2 s of a 30 s lease period ({leases.Claims} claims)");
        await completed.Task;
    }
    [Fact]
    public async Task A_chunk_another_scraper_fetched_up_to_its_still_settling_newest_minute_is_not_fetched_again_in_that_minute()
    {
        var leases = new TestLeases(TimeSpan.FromSeconds(30), _time);
        var queries = new ConcurrentQueue<CandleQuery>();
        var (pass, store, limiter) = Build(leases, q =>
        {
            queries.Enqueue(q);
            return Unanswered(q);
        });
        using var _ = store;
        using var __ = limiter;
        _time.Advance(TimeSpan.FromSeconds(20));
        // Planned up to the closed candles; the scraper that fetched it could cover all but the newest minute.
        var plan = WindowPlanner.Split(Btc, [new TimeRange(T0.AddHours(-5), T0)]).ToList();
        store.SaveResponse(Btc, [], new TimeRange(T0.AddHours(-5), WindowPlanner.CoverableEnd(Btc, _time.GetUtcNow())));
        var completed = new TaskCompletionSource();

        using var subscription = pass.Fetch(plan).Subscribe(_ => { }, e => completed.TrySetException(e), () => completed.TrySetResult());
        for (var i = 0; i < 20 && !completed.Task.IsCompleted; i++)
        {
            await Task.Delay(50);
            _scheduler.AdvanceBy(TimeSpan.FromMilliseconds(200).Ticks);
        }

        Assert.Empty(queries.Select(q => $"{q.Market} to {q.To:HH:mm} count {q.Count}"));
        Assert.True(completed.Task.IsCompleted, "the pass still waits");
    }
    [Fact]
    public async Task Cut_off_from_the_database_a_scraper_drops_its_chunks_after_one_lease_period_without_a_renewal_and_says_so_once()
    {
        using var leases = new TestLeases(TimeSpan.FromSeconds(30), _time);
        var drops = new DroppedLeases();
        var (pass, store, limiter) = Build(leases, Unanswered, drops);
        using var _ = store;
        using var __ = limiter;
        var plan = WholeChunks(15);

        using var subscription = pass.Fetch(plan).Subscribe(_ => { }, _ => { });
        await UntilAsync(() => leases.Granted == 2);
        leases.Down();
        for (var t = 0; t < 80; t++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(500)); // 40 s of a 30 s lease period
            await Task.Delay(5);
        }

        Assert.Equal(2, drops.Windows);
        Assert.Single(_lines.Containing("dropped 2 chunks"));
    }
}
