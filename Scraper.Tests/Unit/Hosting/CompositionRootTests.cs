using System.Reactive.Concurrency;
using Microsoft.Extensions.Logging.Abstractions;
using Scraper.Hosting;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Storage;

namespace Scraper.Tests.Hosting;

/// <summary>The one object graph: every request it sends, the start-up market check included, goes through a rate-limit group.</summary>
public sealed class CompositionRootTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private FakeUpbitExchange _exchange = null!;

    public async Task InitializeAsync() => _exchange = await FakeUpbitExchange.StartAsync(new FakeExchangeOptions { RateLimit = RateLimitMode.None });

    public async Task DisposeAsync()
    {
        await _exchange.DisposeAsync();
        _dir.Dispose();
    }

    private CompositionRoot Build(string markets)
    {
        var app = new ProgramContext(TextWriter.Null, TextWriter.Null, new Dictionary<string, string>(), TimeProvider.System, CancellationToken.None);
        var request = new CommandLineInterface().Parse(
            ["backfill", "--upbit-url", _exchange.BaseUrl.ToString().TrimEnd('/'), "--db", _dir.File("candles.db"), "--markets", markets, "--since", "1h"], TextWriter.Null, out _)!;
        var settings = SettingsLoader.Load(request.Settings, request.ConfigFile, app.Environment, app.Time.GetUtcNow(), needsWritableDb: true);
        return new CompositionRoot(settings, app, NullLoggerFactory.Instance, DefaultScheduler.Instance);
    }

    [Fact]
    public async Task The_market_check_is_one_request_through_the_market_group_s_limiter()
    {
        using var root = Build("KRW-BTC");

        await root.CheckMarketsAsync(CancellationToken.None);

        Assert.Equal("/v1/market/all", Assert.Single(_exchange.Requests).Path);
        Assert.Equal(1, root.Metrics.RequestNew.WithLabels("market").Value);
        Assert.Equal(1, root.Metrics.ResponseSuccess.WithLabels("market").Value);
    }

    [Fact]
    public async Task A_market_check_after_the_stop_sends_nothing_and_refuses_nothing()
    {
        using var root = Build("KRW-NOPE");
        root.StopSending();

        await root.CheckMarketsAsync(CancellationToken.None);

        Assert.Empty(_exchange.Requests);
    }

    [Fact]
    public async Task An_unlisted_market_is_refused()
    {
        using var root = Build("KRW-BTC,KRW-NOPE");

        var e = await Assert.ThrowsAsync<ConfigException>(() => root.CheckMarketsAsync(CancellationToken.None));

        Assert.Contains("the exchange lists no market KRW-NOPE", e.Message, StringComparison.Ordinal);
    }
}
