using System.Globalization;
using Scraper.Domain;
using Scraper.Hosting;
using Scraper.Pipeline;
using Scraper.Storage.Sqlite;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Storage;

namespace Scraper.Tests.Hosting;

/// <summary>
/// `backfill` and `verify` run in-process against the fake exchange on 127.0.0.1 when the host's
/// clock and the exchange's disagree: the exchange is set behind (the host runs ahead), ahead, or
/// the host's clock steps forward during a run. What is stored must equal what the exchange serves,
/// and whatever the exchange could not have answered yet must stay a gap that verify reports.
/// </summary>
public sealed class ExchangeClockTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 2, 12, 0, 30, TimeSpan.Zero);
    private static readonly DateTimeOffset Since = new(2026, 11, 2, 11, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey Btc = new("KRW-BTC", CandleUnit.FromMinutes(1));
    private readonly ManualTimeProvider _time = new(Start);
    private readonly TempDirectory _dir = new();
    private FakeUpbitExchange _exchange = null!;

    private string Db => _dir.File("candles.db");

    public async Task InitializeAsync()
    {
        // Every minute has a trade, so a minute covered without its candle cannot pass for a quiet one.
        _exchange = await FakeUpbitExchange.StartAsync(new FakeExchangeOptions { Time = _time, RateLimit = RateLimitMode.None, NoTradeProbability = 0 });
    }

    public async Task DisposeAsync()
    {
        await _exchange.DisposeAsync();
        _dir.Dispose();
    }

    private async Task<(int Code, string Output)> RunAsync(string verb)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var app = new ProgramContext(stdout, stderr, new Dictionary<string, string>(), _time, CancellationToken.None);
        var code = await ScraperApp.RunAsync(
            [verb, "--upbit-url", _exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Db, "--markets", "KRW-BTC",
             "--since", Since.ToString("o", CultureInfo.InvariantCulture)],
            app);
        return (code, stdout.ToString() + stderr);
    }

    /// <summary>Every candle the exchange has closed in [since, end), as it serves it now, against what is stored.</summary>
    private void AssertStoredExactly(DateTimeOffset end)
    {
        var expected = _exchange.Data.ClosedCandles(Btc.Market, Btc.Unit, Since, end, _exchange.Now);
        using var store = SqliteCandleStore.Open(Db, TimeProvider.System, readOnly: true);
        var stored = store.ReadCandles(Btc, Since, end).ToList();
        Assert.Equal(expected.Select(c => c.StartUtc), stored.Select(c => c.StartUtc));
        Assert.Equal(expected, stored);
    }

    [Fact]
    public async Task A_host_clock_ahead_of_the_exchange_leaves_a_gap_until_the_exchange_has_the_minutes()
    {
        _time.Now = Start.AddMinutes(10); // host 12:10:30, exchange 12:00:30
        _exchange.Options.ClockOffset = TimeSpan.FromMinutes(-10);

        var first = await RunAsync("backfill");
        var verify = await RunAsync("verify");

        Assert.True(first.Code == 1, $"exit {first.Code}: {first.Output}");
        Assert.True(verify.Code == 1, $"exit {verify.Code}: {verify.Output}");
        Assert.Contains("GAP", verify.Output, StringComparison.Ordinal);
        // What was covered holds exactly what the exchange had closed.
        AssertStoredExactly(WindowPlanner.CoverableEnd(Btc, _exchange.Now));

        _time.Now = Start.AddMinutes(20); // both clocks right at 12:20:30
        _exchange.Options.ClockOffset = TimeSpan.Zero;
        var second = await RunAsync("backfill");
        var again = await RunAsync("verify");

        Assert.True(second.Code == 0, $"exit {second.Code}: {second.Output}");
        Assert.True(again.Code == 0, $"exit {again.Code}: {again.Output}");
        var end = WindowPlanner.CoverableEnd(Btc, _time.Now);
        AssertStoredExactly(end);
        Assert.Equal(79, (end - Since).TotalMinutes);
    }

    [Fact]
    public async Task A_host_clock_behind_the_exchange_still_stores_everything_it_asks_for()
    {
        _exchange.Options.ClockOffset = TimeSpan.FromMinutes(10); // host 12:00:30, exchange 12:10:30

        var backfill = await RunAsync("backfill");
        var verify = await RunAsync("verify");

        Assert.True(backfill.Code == 0, $"exit {backfill.Code}: {backfill.Output}");
        Assert.True(verify.Code == 0, $"exit {verify.Code}: {verify.Output}");
        AssertStoredExactly(WindowPlanner.CoverableEnd(Btc, _time.Now));
    }

    [Fact]
    public async Task A_host_clock_stepping_forward_during_a_backfill_covers_nothing_the_exchange_has_not_closed()
    {
        // When the first page is asked for, the host's clock steps 10 minutes ahead (a bad time
        // source, a resumed VM); the exchange's clock goes on. The catch-up pass then plans minutes
        // up to the host's 12:10.
        var stepped = 0;
        _exchange.Options.FaultInjector = request =>
        {
            if (request.Path.StartsWith("/v1/candles", StringComparison.Ordinal) && Interlocked.Exchange(ref stepped, 1) == 0)
            {
                _exchange.Options.ClockOffset = TimeSpan.FromMinutes(-10);
                _time.Now = Start.AddMinutes(10);
            }
            return null;
        };

        var first = await RunAsync("backfill");
        var verify = await RunAsync("verify");

        Assert.True(first.Code == 1, $"exit {first.Code}: {first.Output}");
        Assert.True(verify.Code == 1, $"exit {verify.Code}: {verify.Output}");
        AssertStoredExactly(WindowPlanner.CoverableEnd(Btc, _exchange.Now));

        _time.Now = Start.AddMinutes(20); // the exchange is at 12:10:30 now
        var second = await RunAsync("backfill");
        Assert.True(second.Code == 1, $"exit {second.Code}: {second.Output}");

        _exchange.Options.ClockOffset = TimeSpan.Zero; // the host's clock is put right
        var third = await RunAsync("backfill");
        var again = await RunAsync("verify");

        Assert.True(third.Code == 0, $"exit {third.Code}: {third.Output}");
        Assert.True(again.Code == 0, $"exit {again.Code}: {again.Output}");
        AssertStoredExactly(WindowPlanner.CoverableEnd(Btc, _time.Now));
    }
}
