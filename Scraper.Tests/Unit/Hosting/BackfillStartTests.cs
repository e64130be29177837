using System.Globalization;
using Scraper.Hosting;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Storage;

namespace Scraper.Tests.Hosting;

/// <summary>
/// `backfill`'s start: the market check (the market group) and the first candle request (the candle
/// group's probe) go out together, and nothing is written before the markets are known to be good.
/// </summary>
public sealed class BackfillStartTests : IAsyncLifetime
{
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(3);
    private readonly TempDirectory _dir = new();
    private FakeUpbitExchange _exchange = null!;
    private DateTimeOffset _marketListAnswered = DateTimeOffset.MaxValue;

    private string Db => _dir.File("candles.db");

    public async Task InitializeAsync() =>
        _exchange = await FakeUpbitExchange.StartAsync(new FakeExchangeOptions { RateLimit = RateLimitMode.None, FaultInjector = HoldTheMarketList });

    public async Task DisposeAsync()
    {
        await _exchange.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>
    /// The market list is answered once a candle request has arrived, or after <see cref="Hold"/>: a
    /// client that waits for the list before asking for candles sends its first one after the answer.
    /// </summary>
    private FakeFault? HoldTheMarketList(RecordedRequest request)
    {
        if (request.Path != "/v1/market/all") return null;
        SpinWait.SpinUntil(() => _exchange.Requests.Any(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)), Hold);
        _marketListAnswered = DateTimeOffset.UtcNow;
        return null;
    }

    private async Task<(int Code, string Error)> BackfillAsync(string markets)
    {
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var app = new ProgramContext(TextWriter.Null, stderr, new Dictionary<string, string>(), TimeProvider.System, CancellationToken.None);
        var code = await ScraperApp.RunAsync(
            ["backfill", "--upbit-url", _exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Db, "--markets", markets, "--since", "2h", "--log-level", "Error"], app);
        return (code, stderr.ToString());
    }

    [Fact]
    public async Task The_first_candle_request_leaves_before_the_market_list_is_answered()
    {
        var (code, error) = await BackfillAsync("KRW-BTC");

        Assert.True(code == 0, error);
        var first = _exchange.Requests.First(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal));
        Assert.True(first.At < _marketListAnswered,
            $"first candle request at {first.At:HH:mm:ss.fff}, market list answered at {_marketListAnswered:HH:mm:ss.fff}");
    }

    [Fact]
    public async Task An_unlisted_market_exits_78_with_one_line_and_writes_nothing_though_its_first_request_went_out()
    {
        var (code, error) = await BackfillAsync("KRW-NOPE");

        Assert.Equal(78, code);
        Assert.Equal("bitcoin-price-scraper: invalid --markets 'KRW-NOPE': the exchange lists no market KRW-NOPE (expected markets from GET /v1/market/all, e.g. KRW-BTC,KRW-ETH,KRW-XRP)", error.Trim());
        Assert.False(File.Exists(Db));
        Assert.Single(_exchange.Requests, r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal));
    }
}
