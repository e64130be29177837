using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Reactive.Testing;
using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Pipeline;
using Scraper.Storage.Sqlite;

namespace Scraper.Tests.Pipeline;

/// <summary>The pipeline reports what happens, in order, and nothing else; what it means is the listeners' business.</summary>
public class PipelineEventsTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey Btc = new("KRW-BTC", CandleUnit.FromMinutes(1));

    private sealed class Recorder : IPipelineTelemetry
    {
        public List<PipelineEvent> Events { get; } = [];
        public void Report(PipelineEvent e) => Events.Add(e);
    }

    private static ExchangeResponse<IReadOnlyList<Candle>> Ok() =>
        new(ExchangeOutcome.Success, [new Candle("KRW-BTC", CandleUnit.FromMinutes(1), T0, "2025-01-01T09:00:00", 1m, 1m, 1m, 1m, 0, 1m, 1m)], 200, null, TimeSpan.FromMilliseconds(5));

    [Fact]
    public void A_window_that_fails_once_reports_attempt_answer_retry_attempt_answer()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        var answers = new Queue<ExchangeResponse<IReadOnlyList<Candle>>>([FunctionClient.Fail(ExchangeOutcome.Transient, 503, "http_503"), Ok()]);
        var client = new FunctionClient(_ => Task.FromResult(answers.Dequeue()));
        var telemetry = new Recorder();
        using var limiter = new RateLimitGroup("candles", new RateLimitOptions { RequestsPerWindow = 10 }, scheduler);
        var pipeline = new CandleFetchPipeline(client, limiter, new RetryPolicy(), scheduler, telemetry,
            new FailureLog(NullLogger.Instance, new SchedulerClock(scheduler)), NullLogger<CandleFetchPipeline>.Instance);
        var window = new CandleWindow(Btc, T0, T0.AddMinutes(200));

        var results = new List<WindowResult>();
        using (pipeline.FetchWindow(window).Subscribe(results.Add))
        {
            scheduler.AdvanceBy(TimeSpan.FromSeconds(5).Ticks);
        }

        Assert.True(Assert.Single(results).Fetched);
        Assert.Equal<PipelineEvent>(
        [
            new PipelineEvent.AttemptSent("candles", Retry: false),
            new PipelineEvent.ResponseReceived("candles", ExchangeOutcome.Transient, "http_503", TimeSpan.FromMilliseconds(5), null),
            new PipelineEvent.WindowRetried(Btc, TimeSpan.FromMilliseconds(250), new AttemptState(1, 1, false)),
            new PipelineEvent.AttemptSent("candles", Retry: true),
            new PipelineEvent.ResponseReceived("candles", ExchangeOutcome.Success, null, TimeSpan.FromMilliseconds(5), null),
        ], telemetry.Events);
    }

    [Fact]
    public async Task Every_series_is_announced_once_not_on_every_pass()
    {
        var scheduler = new TestScheduler();
        scheduler.AdvanceTo(T0.UtcTicks);
        var time = new FakeTimeProvider(T0);
        var telemetry = new Recorder();
        using var dir = new TempDirectory();
        using var store = SqliteCandleStore.Open(dir.Combine("candles.db"), time);
        using var limiter = new RateLimitGroup("candles", new RateLimitOptions { RequestsPerWindow = 10 }, scheduler);
        var client = new FunctionClient(_ => Task.FromResult(Ok()));
        var pipeline = new CandleFetchPipeline(client, limiter, new RetryPolicy(), scheduler, telemetry,
            new FailureLog(NullLogger.Instance, time), NullLogger<CandleFetchPipeline>.Instance);
        var writer = new CandleResultWriter(store, telemetry, time, NullLogger<CandleResultWriter>.Instance);
        SeriesKey[] series = [Btc, new("KRW-ETH", CandleUnit.FromMinutes(1)), new("KRW-BTC", CandleUnit.FromMinutes(5))];
        var collector = new CandleCollector(series, T0.AddHours(-1), store, pipeline, limiter, writer, telemetry, time, scheduler, NullLogger<CandleCollector>.Instance);

        for (var pass = 0; pass < 3; pass++)
            Assert.False((await collector.RunPassAsync(T0, _ => false, logProgress: false, CancellationToken.None)).Stopped);

        Assert.Equal(series, telemetry.Events.OfType<PipelineEvent.SeriesPlanned>().Select(e => e.Series));
    }
}
