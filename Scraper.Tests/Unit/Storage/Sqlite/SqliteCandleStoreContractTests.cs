using Scraper.Storage;
using Scraper.Storage.Sqlite;

namespace Scraper.Tests.Storage.Sqlite;

/// <summary>The store contract, run against SQLite files in a temporary directory.</summary>
public sealed class SqliteCandleStoreContractTests : CandleStoreContractTests
{
    private readonly TempDirectory _dir = new();

    private protected override ICandleStore OpenStore(string name, bool readOnly = false) =>
        SqliteCandleStore.Open(_dir.File(name + ".db"), Time, readOnly);

    private protected override void SetBeforeCommit(ICandleStore store, Action? hook) => ((SqliteCandleStore)store).BeforeCommit = hook;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _dir.Dispose();
    }
}
