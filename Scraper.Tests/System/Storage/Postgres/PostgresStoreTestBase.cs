using Scraper.Storage.Postgres;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Storage.Postgres;

/// <summary>One real PostgreSQL server for the class; each test gets a fresh database and a store on it.</summary>
public abstract class PostgresStoreTestBase(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    protected PostgresServer Server { get; } = server;

    protected ManualTimeProvider Time { get; } = new(new DateTimeOffset(2025, 6, 24, 12, 0, 0, TimeSpan.Zero));

    protected string Database { get; private set; } = "";

    /// <summary>The store under test: opened read-write on <see cref="Database"/>.</summary>
    private protected PostgresCandleStore Store => _store ?? throw new InvalidOperationException("no PostgreSQL server");

    private PostgresCandleStore? _store;

    public virtual async Task InitializeAsync()
    {
        if (!Server.Available) return;
        Database = await Server.CreateDatabaseAsync();
        if (OpenStoreAtStart) _store = PostgresCandleStore.Open(Settings(), Time);
    }

    public virtual Task DisposeAsync()
    {
        _store?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>False for tests that open the store themselves.</summary>
    protected virtual bool OpenStoreAtStart => true;

    private protected PostgresConnectionSettings Settings(string? database = null) =>
        PostgresConnectionSettings.Parse(Server.ConnectionString(database ?? Database));

    /// <summary>Rows of a query through psql, columns joined by '|', NULL as empty.</summary>
    protected async Task<List<string>> RowsAsync(string sql)
    {
        var output = await Server.PsqlAsync(Database, sql);
        return output.Length == 0 ? [] : output.Split('\n').ToList();
    }
}
