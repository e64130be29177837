using Scraper.Tests.FakeExchange;

namespace Scraper.Tests.Integration;

/// <summary>A <see cref="FakeExchangeTest"/> with its own throwaway PostgreSQL server as well.</summary>
public abstract class PostgresExchangeTest(FakeExchangeOptions? options = null) : FakeExchangeTest(options)
{
    /// <summary>The server (check <see cref="PostgresServer.Available"/> or use [PostgresFact]).</summary>
    private protected PostgresServer Server { get; } = new();

    /// <inheritdoc />
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Server.InitializeAsync();
    }

    /// <inheritdoc />
    public override async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await base.DisposeAsync();
    }
}
