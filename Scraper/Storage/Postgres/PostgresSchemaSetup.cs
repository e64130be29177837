using System.Collections.Concurrent;
using System.Globalization;
using Npgsql;

namespace Scraper.Storage.Postgres;

/// <summary>
/// Looks at a database before touching it (ours, empty, foreign or too new), applies missing
/// migrations, and creates the monthly candle partitions ahead of the candles that need them.
/// </summary>
internal static class PostgresSchemaSetup
{
    /// <summary>
    /// The schema version of the database (0 when its schema holds no table), read without writing.
    /// Throws <see cref="StoreException"/> for a database of something else or a newer schema.
    /// </summary>
    public static int Inspect(NpgsqlConnection connection, string target, int knownVersion)
    {
        var tables = new List<string>();
        using (var command = new NpgsqlCommand(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
            ORDER BY c.relname
            """, connection))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read()) tables.Add(reader.GetString(0));
        }
        if (tables.Count == 0) return 0;

        var ours = tables.Contains(PostgresSchema.MarkerTable) && tables.Contains(PostgresSchema.VersionTable)
                   && Scalar(connection, $"SELECT count(*) FROM {PostgresSchema.MarkerTable} WHERE application_id = {PostgresSchema.ApplicationId}") is long and > 0;
        if (!ours)
        {
            var shown = tables.Count <= 10 ? string.Join(", ", tables) : string.Join(", ", tables.Take(10)) + ", …";
            throw new StoreException($"{target} is a foreign database (tables: {shown}), not a bitcoin-price-scraper store");
        }
        var version = Convert.ToInt32(Scalar(connection, $"SELECT coalesce(max(version), 0) FROM {PostgresSchema.VersionTable}"), CultureInfo.InvariantCulture);
        if (version > knownVersion)
            throw new StoreException(
                $"{target} has schema version {version}, newer than this build of bitcoin-price-scraper knows ({knownVersion}); use a newer release");
        return version;
    }

    /// <summary>
    /// Applies every missing step, each in its own transaction with its schema_version row. An
    /// advisory lock and a fresh look at the version inside it make two processes opening a new
    /// database at once apply each step exactly once.
    /// </summary>
    public static void Migrate(NpgsqlConnection connection, IReadOnlyList<Migration> migrations, DateTimeOffset now)
    {
        foreach (var migration in migrations)
        {
            using var transaction = connection.BeginTransaction();
            Execute(connection, $"SELECT pg_advisory_xact_lock({PostgresSchema.SchemaLock})");
            var current = Scalar(connection, $"SELECT to_regclass('{PostgresSchema.VersionTable}') IS NOT NULL") is true
                ? Convert.ToInt32(Scalar(connection, $"SELECT coalesce(max(version), 0) FROM {PostgresSchema.VersionTable}"), CultureInfo.InvariantCulture)
                : 0;
            if (migration.Version <= current) continue;
            if (migration.Version != current + 1)
                throw new InvalidOperationException($"migration {migration.Version} cannot follow version {current}");
            Execute(connection, migration.Sql);
            using (var record = new NpgsqlCommand(
                $"INSERT INTO {PostgresSchema.VersionTable} (version, description, applied_at) VALUES ($1, $2, $3)", connection))
            {
                record.Parameters.Add(new NpgsqlParameter { Value = migration.Version });
                record.Parameters.Add(new NpgsqlParameter { Value = migration.Description });
                record.Parameters.Add(new NpgsqlParameter { Value = now.UtcDateTime });
                record.ExecuteNonQuery();
            }
            transaction.Commit();
        }
    }

    /// <summary>The UTC month that holds <paramref name="instant"/>.</summary>
    public static DateTime MonthOf(DateTimeOffset instant)
    {
        var utc = instant.UtcDateTime;
        return new DateTime(utc.Year, utc.Month, 1, 0, 0, 0, DateTimeKind.Utc);
    }

    /// <summary>
    /// Creates the partitions of <paramref name="months"/> and of the month after each, so the month
    /// a follower is about to enter exists before its first candle. Known months are skipped.
    /// </summary>
    public static void EnsurePartitions(NpgsqlConnection connection, IEnumerable<DateTime> months, ConcurrentDictionary<DateTime, bool> known)
    {
        var wanted = months.SelectMany(m => new[] { m, m.AddMonths(1) }).Distinct().Where(m => !known.ContainsKey(m)).Order().ToList();
        if (wanted.Count == 0) return;
        using (var transaction = connection.BeginTransaction())
        {
            Execute(connection, $"SELECT pg_advisory_xact_lock({PostgresSchema.SchemaLock})");
            foreach (var month in wanted)
            {
                Execute(connection, string.Create(CultureInfo.InvariantCulture,
                    $"CREATE TABLE IF NOT EXISTS {PostgresSchema.PartitionName(month)} PARTITION OF candles FOR VALUES FROM ('{month:yyyy-MM-dd} 00:00:00+00') TO ('{month.AddMonths(1):yyyy-MM-dd} 00:00:00+00')"));
            }
            transaction.Commit();
        }
        foreach (var month in wanted) known[month] = true;
    }

    private static void Execute(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    private static object? Scalar(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        return command.ExecuteScalar();
    }
}
