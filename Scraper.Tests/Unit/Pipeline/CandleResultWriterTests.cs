using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Metrics;
using Scraper.Pipeline;
using Scraper.Storage.Sqlite;
using Scraper.Tests.Storage;

namespace Scraper.Tests.Pipeline;

/// <summary>What a page covers, against a real SQLite file, when the host's clock and the exchange's disagree.</summary>
public sealed class CandleResultWriterTests : IDisposable
{
    private static readonly SeriesKey Btc = TestCandles.BtcMinute;
    private static readonly DateTimeOffset Noon = new(2026, 11, 2, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Noon.AddSeconds(30));
    private readonly SqliteCandleStore _store;
    private readonly CandleResultWriter _writer;

    public CandleResultWriterTests()
    {
        _store = SqliteCandleStore.Open(_dir.File("candles.db"), _time);
        _writer = new CandleResultWriter(_store, new MetricsSubscriber(new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), "test")), _time, NullLogger<CandleResultWriter>.Instance);
    }

    public void Dispose()
    {
        _store.Dispose();
        _dir.Dispose();
    }

    /// <summary>A page for [11:00, end) holding a candle for every minute the exchange has begun by <paramref name="exchangeNow"/>.</summary>
    private static WindowResult Page(DateTimeOffset end, DateTimeOffset exchangeNow, DateTimeOffset? date)
    {
        var start = Noon.AddHours(-1);
        var candles = new List<Candle>();
        for (var t = start; t < end && t <= exchangeNow; t += Btc.Unit.Interval) candles.Add(TestCandles.Minute(t));
        var exchangeDate = date is { } d ? new ExchangeDate(d, d) : null;
        var response = new ExchangeResponse<IReadOnlyList<Candle>>(ExchangeOutcome.Success, candles, 200, null, TimeSpan.FromMilliseconds(5), Date: exchangeDate);
        return new WindowResult(new CandleWindow(Btc, start, end), response, 1);
    }

    [Fact]
    public void Writing_a_page_as_the_exchange_sends_it_allocates_little_beyond_the_store()
    {
        // Newest first, every start once: what the exchange sends ten times a second in a backfill.
        _time.SetUtcNow(Noon.AddHours(1));
        WindowResult NewestFirst(int page)
        {
            var end = Noon.AddMinutes(-200 * page);
            var candles = Enumerable.Range(1, 200).Select(i => TestCandles.Minute(end.AddMinutes(-i))).ToList();
            var response = new ExchangeResponse<IReadOnlyList<Candle>>(ExchangeOutcome.Success, candles, 200, null, TimeSpan.FromMilliseconds(5));
            return new WindowResult(new CandleWindow(Btc, end.AddMinutes(-200), end), response, 1);
        }
        for (var page = 0; page < 3; page++) _writer.Write(NewestFirst(page));
        var pages = Enumerable.Range(3, 5).Select(NewestFirst).ToList();

        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var page in pages) _writer.Write(page);
        var perPage = (GC.GetAllocatedBytesForCurrentThread() - before) / pages.Count;

        Assert.Equal(1600, _store.CountCandles(Btc));
        // The store's own share (its coverage statements) is about 3 KB; a page kept whole is not copied.
        Assert.True(perPage < 3500, $"{perPage} bytes allocated per page written");
    }

    [Theory]
    [InlineData(new[] { 3, 2, 2, 1 })]
    [InlineData(new[] { 1, 3, 1, 2 })]
    [InlineData(new[] { 2, 2 })]
    public void A_start_sent_twice_is_written_once_and_reported(int[] minutes)
    {
        var telemetry = new Recorder();
        var writer = new CandleResultWriter(_store, telemetry, _time, NullLogger<CandleResultWriter>.Instance);
        var candles = minutes.Select(m => TestCandles.Minute(Noon.AddMinutes(-10 + m))).ToList();
        var response = new ExchangeResponse<IReadOnlyList<Candle>>(ExchangeOutcome.Success, candles, 200, null, TimeSpan.FromMilliseconds(5));

        var written = writer.Write(new WindowResult(new CandleWindow(Btc, Noon.AddMinutes(-10), Noon), response, 1));

        Assert.Equal(minutes.Distinct().Count(), written);
        Assert.Equal(minutes.Length - written, Assert.Single(telemetry.Events.OfType<PipelineEvent.UnexpectedCandles>()).Count);
    }

    private sealed class Recorder : IPipelineTelemetry
    {
        public List<PipelineEvent> Events { get; } = [];
        public void Report(PipelineEvent e) => Events.Add(e);
    }

    [Fact]
    public void A_host_ahead_covers_only_up_to_the_exchange_clock_of_the_page()
    {
        _time.SetUtcNow(Noon.AddMinutes(10).AddSeconds(30)); // host 12:10:30
        var exchangeNow = Noon.AddSeconds(30);          // exchange 12:00:30

        _writer.Write(Page(Noon.AddMinutes(10), exchangeNow, exchangeNow));

        // 11:59 closed at 12:00 on the exchange's clock but may still settle: as with our own clock.
        Assert.Equal([new TimeRange(Noon.AddHours(-1), Noon.AddMinutes(-1))], _store.GetCoverage(Btc));
    }

    [Fact]
    public void The_Date_header_counts_in_whole_seconds_a_minute_boundary_just_passed_is_not_covered_early()
    {
        _time.SetUtcNow(Noon.AddMinutes(1).AddMilliseconds(400));
        // The exchange answered at 12:00:59.9: its Date says 12:00:59.
        _writer.Write(Page(Noon.AddMinutes(1), Noon.AddSeconds(59.9), Noon.AddSeconds(59)));

        Assert.Equal([new TimeRange(Noon.AddHours(-1), Noon.AddMinutes(-1))], _store.GetCoverage(Btc));
    }

    [Fact]
    public void A_host_behind_covers_up_to_its_own_clock()
    {
        var exchangeNow = Noon.AddMinutes(10).AddSeconds(30);

        _writer.Write(Page(Noon, exchangeNow, exchangeNow)); // host 12:00:30 asked up to its 12:00

        Assert.Equal([new TimeRange(Noon.AddHours(-1), Noon.AddMinutes(-1))], _store.GetCoverage(Btc));
        Assert.Equal(60, _store.CountCandles(Btc));
    }

    [Fact]
    public void A_page_without_a_Date_header_is_capped_by_the_local_clock()
    {
        _time.SetUtcNow(Noon.AddMinutes(10).AddSeconds(30));

        _writer.Write(Page(Noon.AddMinutes(10), Noon.AddMinutes(10).AddSeconds(30), null));

        Assert.Equal([new TimeRange(Noon.AddHours(-1), Noon.AddMinutes(9))], _store.GetCoverage(Btc));
    }
}
