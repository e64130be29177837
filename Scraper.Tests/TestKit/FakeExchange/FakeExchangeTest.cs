using Scraper.Tests.FakeExchange;

namespace Scraper.Tests.Integration;

/// <summary>A test class with its own fake exchange on 127.0.0.1 and its own temporary folder.</summary>
public abstract class FakeExchangeTest(FakeExchangeOptions? options = null) : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();

    /// <summary>The temporary folder (deleted after the test).</summary>
    protected string Dir => _dir.Path;

    /// <summary>The running fake exchange.</summary>
    protected FakeUpbitExchange Exchange { get; private set; } = null!;

    /// <summary>The default database path in <see cref="Dir"/>.</summary>
    protected string Db => Path.Combine(Dir, "candles.db");

    /// <inheritdoc />
    public virtual async Task InitializeAsync() => Exchange = await FakeUpbitExchange.StartAsync(options ?? new FakeExchangeOptions());

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        await Exchange.DisposeAsync();
        _dir.Dispose();
    }
}
