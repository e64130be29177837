using Microsoft.Data.Sqlite;

namespace Scraper.Storage.Sqlite;

/// <summary>
/// Opens an SQLite store: checks the path, refuses files that are not ours before touching them,
/// sets the journal and durability pragmas and brings the schema up to date.
/// </summary>
internal static class SqliteStoreOpener
{
    public static SqliteCandleStore Open(string path, TimeProvider time, bool readOnly, IReadOnlyList<Migration> migrations)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(migrations);

        var fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
            throw new StoreException($"{fullPath} is a directory, not an SQLite database");
        var directory = Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
            throw new StoreException($"{fullPath} cannot be created: directory {directory} does not exist");

        var version = 0;
        if (File.Exists(fullPath))
            version = SqliteFileInspection.SchemaVersion(fullPath);
        else if (readOnly)
            throw new StoreException($"{fullPath} does not exist (opened read-only, so it is not created)");
        SchemaMigrator.CheckOpenable(fullPath, version, migrations, readOnly);

        SqliteConnection? connection = null;
        try
        {
            connection = SqliteConnections.Open(fullPath, readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate);
            if (!readOnly)
            {
                // WAL lets verify/export read while the daemon writes. synchronous=FULL makes a commit
                // durable (the WAL is synced): "stored" survives a power cut or a file system that turns
                // read-only, not only a crash of this process. It costs one fsync per response, at most
                // ten a second. Candles and their coverage commit atomically either way.
                SqliteConnections.Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
                if (version < migrations[^1].Version)
                {
                    var opened = connection;
                    SchemaMigrator.Migrate(migrations, () => new SqliteMigrationTransaction(opened), time);
                }
                // SQLite tests the unit CHECK (an IN list) by building the list into a temporary
                // B-tree for every row inserted: as much work as storing the row. This connection
                // writes only units of CandleUnit and non-empty ranges, so its own inserts skip the
                // CHECKs; other connections, and IntegrityCheck, still apply them.
                SqliteConnections.Execute(connection, "PRAGMA ignore_check_constraints=ON;");
            }
            return new SqliteCandleStore(fullPath, connection, time, readOnly);
        }
        catch (SqliteException ex)
        {
            connection?.Dispose();
            throw new StoreException($"{fullPath} cannot be opened: {SqliteErrors.OneLine(ex)}", ex);
        }
        catch
        {
            connection?.Dispose();
            throw;
        }
    }
}
