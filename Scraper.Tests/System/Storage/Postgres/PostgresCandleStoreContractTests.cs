using Scraper.Storage;
using Scraper.Storage.Postgres;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Storage.Postgres;

/// <summary>The store contract, run against a real PostgreSQL server: one database per store name.</summary>
public sealed class PostgresCandleStoreContractTests(PostgresServer server) : CandleStoreContractTests, IClassFixture<PostgresServer>
{
    private readonly Dictionary<string, string> _databases = new(StringComparer.Ordinal);

    private protected override ICandleStore OpenStore(string name, bool readOnly = false)
    {
        Skip.If(!server.Available, PostgresServer.SkipReason);
        if (!_databases.TryGetValue(name, out var database))
        {
            database = server.CreateDatabaseAsync().GetAwaiter().GetResult();
            _databases[name] = database;
        }
        return PostgresCandleStore.Open(PostgresConnectionSettings.Parse(server.ConnectionString(database)), Time, new PostgresStoreOptions { ReadOnly = readOnly });
    }

    private protected override void SetBeforeCommit(ICandleStore store, Action? hook) => ((PostgresCandleStore)store).BeforeCommit = hook;
}
