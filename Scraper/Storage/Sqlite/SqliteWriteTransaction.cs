using System.Diagnostics;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Scraper.Storage.Sqlite;

/// <summary>
/// BEGIN IMMEDIATE, COMMIT and ROLLBACK of the store's writes, each prepared once per connection.
/// <see cref="SqliteConnection.BeginTransaction()"/> prepares and runs "PRAGMA read_uncommitted" and
/// "BEGIN IMMEDIATE", and its commit "COMMIT", through a new command each, for every response saved.
/// Waiting for a lock is as before: SQLite's busy handler waits up to the connection's busy_timeout,
/// and a statement still busy after it is retried every 150 ms until the connection's default
/// command timeout, as Microsoft.Data.Sqlite's commands do. Commands run inside the transaction
/// without a <see cref="SqliteTransaction"/> object: they must leave their Transaction unset.
/// </summary>
internal sealed class SqliteWriteTransaction : IDisposable
{
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(150);

    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _begin;
    private readonly sqlite3_stmt _commit;
    private readonly sqlite3_stmt _rollback;

    public SqliteWriteTransaction(SqliteConnection connection)
    {
        _connection = connection;
        _begin = Prepare("BEGIN IMMEDIATE");
        _commit = Prepare("COMMIT");
        _rollback = Prepare("ROLLBACK");
    }

    /// <summary>Takes the write lock, waiting for another writer as long as the connection's commands would.</summary>
    public void Begin() => Run(_begin);

    public void Commit() => Run(_commit);

    /// <summary>Rolls back what is still open; SQLite has already rolled back after some errors (a full disk, I/O).</summary>
    public void RollBackIfOpen()
    {
        if (raw.sqlite3_get_autocommit(_connection.Handle) == 0) Run(_rollback);
    }

    public void Dispose()
    {
        _begin.Dispose();
        _commit.Dispose();
        _rollback.Dispose();
    }

    private sqlite3_stmt Prepare(string sql)
    {
        var rc = raw.sqlite3_prepare_v2(_connection.Handle, sql, out var statement);
        if (rc != raw.SQLITE_OK) SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
        return statement;
    }

    private void Run(sqlite3_stmt statement)
    {
        var started = Stopwatch.GetTimestamp();
        var timeout = TimeSpan.FromSeconds(_connection.DefaultTimeout);
        while (true)
        {
            var rc = raw.sqlite3_step(statement);
            raw.sqlite3_reset(statement);
            if (rc == raw.SQLITE_DONE) return;
            var busy = rc is raw.SQLITE_BUSY or raw.SQLITE_LOCKED;
            if (!busy || (timeout > TimeSpan.Zero && Stopwatch.GetElapsedTime(started) >= timeout))
            {
                SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
                return;
            }
            Thread.Sleep(RetryPause);
        }
    }
}
