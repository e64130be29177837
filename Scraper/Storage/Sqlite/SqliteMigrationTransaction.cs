using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Scraper.Storage.Sqlite;

/// <summary>One migration step on an SQLite connection, in an IMMEDIATE transaction (the write lock taken up front).</summary>
internal sealed class SqliteMigrationTransaction : IMigrationTransaction
{
    private readonly SqliteConnection _connection;
    private readonly SqliteTransaction _transaction;

    public SqliteMigrationTransaction(SqliteConnection connection)
    {
        _connection = connection;
        _transaction = connection.BeginTransaction();
    }

    public int CurrentVersion()
    {
        var tables = SqliteConnections.Scalar(
            _connection, $"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{SqliteSchema.VersionTable}'", _transaction);
        if ((long)tables! == 0) return 0;
        return Convert.ToInt32(
            SqliteConnections.Scalar(_connection, $"SELECT coalesce(max(version), 0) FROM {SqliteSchema.VersionTable}", _transaction),
            CultureInfo.InvariantCulture);
    }

    public void Apply(Migration step, DateTimeOffset appliedAt)
    {
        SqliteConnections.Execute(_connection, step.Sql, _transaction);
        using var record = _connection.CreateCommand();
        record.Transaction = _transaction;
        record.CommandText = $"INSERT INTO {SqliteSchema.VersionTable} (version, description, applied_at) VALUES ($version, $description, $at)";
        record.Parameters.AddWithValue("$version", step.Version);
        record.Parameters.AddWithValue("$description", step.Description);
        record.Parameters.AddWithValue("$at", StoredText.RecordedAt(appliedAt));
        record.ExecuteNonQuery();
    }

    public void Commit() => _transaction.Commit();

    public void Dispose() => _transaction.Dispose();
}
