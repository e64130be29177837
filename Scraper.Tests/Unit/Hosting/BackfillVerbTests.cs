using System.Globalization;
using Scraper.Domain;
using Scraper.Hosting;
using Scraper.Storage.Sqlite;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Storage;

namespace Scraper.Tests.Hosting;

/// <summary>`backfill` run in-process against the fake exchange on 127.0.0.1, with a clock the test moves.</summary>
public sealed class BackfillVerbTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 2, 12, 0, 30, TimeSpan.Zero);
    private readonly ManualTimeProvider _time = new(Start);
    private readonly TempDirectory _dir = new();
    private FakeUpbitExchange _exchange = null!;

    private string Db => _dir.File("candles.db");

    public async Task InitializeAsync()
    {
        _exchange = await FakeUpbitExchange.StartAsync(new FakeExchangeOptions
        {
            Time = _time,
            RateLimit = RateLimitMode.None,
            NoTradeProbability = 0,
            FaultInjector = MoveTheClockOnceBtcIsStored,
        });
    }

    public async Task DisposeAsync()
    {
        await _exchange.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>
    /// When KRW-ETH's window is asked for, KRW-BTC's (asked first) has been stored at 12:00:30; the
    /// clock then jumps past the next minute's close, as on a long backfill.
    /// </summary>
    private FakeFault? MoveTheClockOnceBtcIsStored(RecordedRequest request)
    {
        if (!request.Query.Contains("KRW-ETH", StringComparison.Ordinal) || _time.Now != Start) return null;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            using (var store = SqliteCandleStore.Open(Db, TimeProvider.System, readOnly: true))
            {
                if (store.GetCoverage(new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(1))).Count > 0) break;
            }
            Thread.Sleep(20);
        }
        _time.Now = Start.AddMinutes(1);
        return null;
    }

    [Fact]
    public async Task A_minute_closing_during_the_backfill_is_caught_up_and_the_range_verifies_complete()
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var app = new ProgramContext(stdout, stderr, new Dictionary<string, string>(), _time, CancellationToken.None);

        var code = await ScraperApp.RunAsync(
            ["backfill", "--upbit-url", _exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Db, "--markets", "KRW-BTC,KRW-ETH",
             "--since", Start.AddHours(-2).ToString("o", CultureInfo.InvariantCulture)],
            app);

        Assert.True(code == 0, stdout.ToString() + stderr);
        Assert.Equal(Start.AddMinutes(1), _time.Now); // the clock did move during the pass
        using var store = SqliteCandleStore.Open(Db, TimeProvider.System, readOnly: true);
        foreach (var market in new[] { "KRW-BTC", "KRW-ETH" })
        {
            var series = new SeriesKey(market, CandleUnit.FromMinutes(1));
            // Up to the candle that closed at 12:00, complete since 12:01 (the clock at the end).
            Assert.Equal([new TimeRange(Start.AddHours(-2).AddSeconds(-30), Start.AddSeconds(-30))], store.GetCoverage(series));
            Assert.Equal(120, store.CountCandles(series));
        }
    }
}
