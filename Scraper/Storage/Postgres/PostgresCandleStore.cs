using System.Collections.Concurrent;
using Npgsql;
using Scraper.Domain;

namespace Scraper.Storage.Postgres;

/// <summary>
/// The candle store in PostgreSQL: exact numeric prices, timestamptz candle starts, candles
/// range-partitioned by month. Like the SQLite store, one response is one transaction (candles
/// upserted, coverage merged), and a database of another application or of a newer schema is
/// refused untouched. Safe to share between threads: each call takes a pooled connection.
/// </summary>
internal sealed class PostgresCandleStore : ICandleStore
{
    private const int ReadPageSize = 1000;
    /// <summary>Class of the advisory lock that serialises the coverage merges of one series.</summary>
    internal const int SeriesLockClass = 0x42505343;

    internal const string CandleColumns =
        "candle_date_time_utc, candle_date_time_kst, opening_price, high_price, low_price, trade_price, timestamp, " +
        "candle_acc_trade_price, candle_acc_trade_volume, prev_closing_price, change_price, change_rate";

    // Ranges that overlap or touch the new one are deleted and come back as one merged row.
    internal const string MergeCoverageSql =
        """
        WITH gone AS (
            DELETE FROM coverage WHERE market = $1 AND unit = $2 AND start_utc <= $4 AND end_utc >= $3
            RETURNING start_utc, end_utc)
        INSERT INTO coverage (market, unit, start_utc, end_utc)
        SELECT $1, $2, least($3, min(start_utc)), greatest($4, max(end_utc)) FROM gone
        """;

    // Walks the primary key from series to series instead of reading every candle.
    private const string ListSeriesSql =
        """
        WITH RECURSIVE s AS (
            (SELECT market, unit FROM candles ORDER BY market, unit LIMIT 1)
            UNION ALL
            SELECT n.market, n.unit FROM s, LATERAL (
                SELECT c.market, c.unit FROM candles c WHERE (c.market, c.unit) > (s.market, s.unit)
                ORDER BY c.market, c.unit LIMIT 1) n)
        SELECT market, unit FROM s
        UNION
        SELECT DISTINCT market, unit FROM coverage
        """;

    private static readonly DateTime NoLowerBound = DateTime.SpecifyKind(DateTime.MinValue, DateTimeKind.Utc);
    private static readonly DateTime NoUpperBound = DateTime.SpecifyKind(DateTime.MaxValue, DateTimeKind.Utc);

    private readonly NpgsqlDataSource _source;
    private readonly TimeProvider _time;
    private readonly bool _readOnly;
    private readonly PostgresRetry _retry;
    private readonly CancellationTokenSource _stop;
    private readonly ConcurrentDictionary<DateTime, bool> _partitions = new();
    private int _disposed;

    private PostgresCandleStore(NpgsqlDataSource source, string target, TimeProvider time, bool readOnly, PostgresRetry retry, CancellationTokenSource stop)
    {
        _source = source;
        Target = target;
        _time = time;
        _readOnly = readOnly;
        _retry = retry;
        _stop = stop;
    }

    /// <summary>"postgres HOST:PORT/DATABASE", as errors name it.</summary>
    public string Target { get; }

    /// <summary>Called inside the save transaction just before it commits; tests use it to fail a save late.</summary>
    internal Action? BeforeCommit { get; set; }

    /// <summary>The store's pooled connections, waited for and retried as its own calls are (the bulk path writes through it).</summary>
    internal PostgresRetry Retry => _retry;

    /// <summary>Months whose candle partitions exist.</summary>
    internal ConcurrentDictionary<DateTime, bool> Partitions => _partitions;

    /// <summary>
    /// Connects (waiting while the server is unavailable when <see cref="PostgresStoreOptions.Availability"/>
    /// is set), inspects the database without writing, then, unless read-only, applies missing
    /// migrations and creates this month's and next month's partitions. Throws
    /// <see cref="StoreException"/> naming host and database for a foreign or newer database, an
    /// authentication failure or an unknown database.
    /// </summary>
    public static PostgresCandleStore Open(PostgresConnectionSettings settings, TimeProvider time, PostgresStoreOptions? options = null) =>
        Open(settings, time, options ?? new PostgresStoreOptions(), PostgresSchema.Migrations);

    internal static PostgresCandleStore Open(PostgresConnectionSettings settings, TimeProvider time, PostgresStoreOptions options, IReadOnlyList<Migration> migrations)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        var connectionString = new NpgsqlConnectionStringBuilder(settings.ConnectionString);
        // Read-only is enforced by the server too: a verify can never write by mistake.
        if (options.ReadOnly) connectionString.Options = (connectionString.Options + " -c default_transaction_read_only=on").Trim();
        var builder = new NpgsqlSlimDataSourceBuilder(connectionString.ConnectionString);
        builder.EnableArrays();
        var source = builder.Build();
        var stop = CancellationTokenSource.CreateLinkedTokenSource(options.Stop);
        var retry = new PostgresRetry(source, settings.Target, time, options.Availability, stop.Token);
        var store = new PostgresCandleStore(source, settings.Target, time, options.ReadOnly, retry, stop);
        try
        {
            var known = migrations[^1].Version;
            var version = retry.Run("opening", c => PostgresSchemaSetup.Inspect(c, settings.Target, known));
            if (options.ReadOnly && version == 0)
                throw new StoreException($"{settings.Target} is an empty database, not a bitcoin-price-scraper store");
            if (options.ReadOnly && version < known)
                throw new StoreException(
                    $"{settings.Target} has schema version {version} and needs migrating to {known}; open it once read-write (run or backfill)");
            if (!options.ReadOnly)
            {
                if (version < known) retry.Run("migrating", c => PostgresSchemaSetup.Migrate(c, migrations, time.GetUtcNow()));
                var month = PostgresSchemaSetup.MonthOf(time.GetUtcNow());
                retry.Run("creating partitions", c => PostgresSchemaSetup.EnsurePartitions(c, [month], store._partitions));
            }
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public int SaveResponse(SeriesKey series, IReadOnlyList<Candle> candles, TimeRange? covered)
    {
        StoreArguments.CheckResponse(series, candles);
        Write($"saving {candles.Count} candles of {series}", candles, (series, covered));
        return candles.Count;
    }

    /// <inheritdoc />
    /// <remarks>One statement for every candle of the batch, one commit.</remarks>
    public int SaveUncovered(IReadOnlyList<SeriesCandles> batch)
    {
        StoreArguments.CheckBatch(batch);
        var candles = batch.SelectMany(entry => entry.Candles).ToList();
        Write($"saving {candles.Count} candles of {batch.Count} series", candles, coverage: null);
        return candles.Count;
    }

    /// <inheritdoc />
    public IReadOnlyList<TimeRange> GetCoverage(SeriesKey series)
    {
        ArgumentException.ThrowIfNullOrEmpty(series.Market, nameof(series));
        ThrowIfDisposed();
        return _retry.Run($"reading the coverage of {series}", connection =>
        {
            using var command = Command(connection, "SELECT start_utc, end_utc FROM coverage WHERE market = $1 AND unit = $2 ORDER BY start_utc",
                series.Market, series.Unit.Name);
            using var reader = command.ExecuteReader();
            var ranges = new List<TimeRange>();
            while (reader.Read()) ranges.Add(new TimeRange(PostgresCandleRows.Instant(reader.GetDateTime(0)), PostgresCandleRows.Instant(reader.GetDateTime(1))));
            // Already merged when written; merging again costs nothing and keeps the contract if two writers raced.
            return Coverage.Merge(ranges);
        });
    }

    /// <inheritdoc />
    public IReadOnlyList<SeriesKey> ListSeries()
    {
        ThrowIfDisposed();
        return _retry.Run("listing series", connection =>
        {
            using var command = new NpgsqlCommand(ListSeriesSql, connection);
            using var reader = command.ExecuteReader();
            var found = new List<SeriesKey>();
            while (reader.Read())
            {
                var unit = reader.GetString(1);
                found.Add(new SeriesKey(reader.GetString(0),
                    CandleUnit.TryParse(unit, out var u) ? u : throw new StoreException($"{Target}: unknown candle unit '{unit}' in the store")));
            }
            return found.Distinct().OrderBy(s => s.Market, StringComparer.Ordinal).ThenBy(s => s.Unit.Interval).ToList();
        });
    }

    /// <inheritdoc />
    public long CountCandles(SeriesKey series, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(series.Market, nameof(series));
        ThrowIfDisposed();
        return _retry.Run($"counting candles of {series}", connection =>
        {
            using var command = Command(connection,
                "SELECT count(*) FROM candles WHERE market = $1 AND unit = $2 AND candle_date_time_utc >= $3 AND candle_date_time_utc < $4",
                series.Market, series.Unit.Name, Lower(from), Upper(to));
            return (long)command.ExecuteScalar()!;
        });
    }

    /// <inheritdoc />
    /// <remarks>Pages of <see cref="ReadPageSize"/> candles by key, each on its own pooled connection, so memory stays flat.</remarks>
    public IEnumerable<Candle> ReadCandles(SeriesKey series, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(series.Market, nameof(series));
        return ReadPages(series, Lower(from), Upper(to));
    }

    /// <inheritdoc />
    public DateTimeOffset? NewestCandleStart(SeriesKey series)
    {
        ArgumentException.ThrowIfNullOrEmpty(series.Market, nameof(series));
        ThrowIfDisposed();
        return _retry.Run($"reading the newest candle of {series}", connection =>
        {
            using var command = Command(connection, "SELECT max(candle_date_time_utc) FROM candles WHERE market = $1 AND unit = $2",
                series.Market, series.Unit.Name);
            return command.ExecuteScalar() is DateTime newest ? PostgresCandleRows.Instant(newest) : (DateTimeOffset?)null;
        });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _stop.Cancel();
        _source.Dispose();
        _stop.Dispose();
    }

    private IEnumerable<Candle> ReadPages(SeriesKey series, DateTime from, DateTime to)
    {
        var lower = from;
        var inclusive = true;
        while (true)
        {
            ThrowIfDisposed();
            var page = _retry.Run($"reading candles of {series}", connection =>
            {
                using var command = Command(connection,
                    $"""
                    SELECT {CandleColumns} FROM candles
                    WHERE market = $1 AND unit = $2 AND candle_date_time_utc {(inclusive ? ">=" : ">")} $3 AND candle_date_time_utc < $4
                    ORDER BY candle_date_time_utc
                    LIMIT {ReadPageSize}
                    """,
                    series.Market, series.Unit.Name, lower, to);
                using var reader = command.ExecuteReader();
                var candles = new List<Candle>(ReadPageSize);
                while (reader.Read()) candles.Add(PostgresCandleRows.Read(series, reader));
                return candles;
            });
            foreach (var candle in page) yield return candle;
            if (page.Count < ReadPageSize) yield break;
            lower = page[^1].StartUtc.UtcDateTime;
            inclusive = false;
        }
    }

    /// <summary>One transaction: upserts the candles (the last of a key wins) and merges the coverage of a series, if given.</summary>
    private void Write(string what, IReadOnlyList<Candle> candles, (SeriesKey Series, TimeRange? Range)? coverage)
    {
        ThrowIfDisposed();
        if (_readOnly) throw new InvalidOperationException($"{Target} was opened read-only");
        var unique = PostgresCandleRows.LastOfEach(candles);
        EnsurePartitions(unique, what);
        var (series, covered) = coverage ?? default;
        _retry.Run(what, connection =>
        {
            using var transaction = connection.BeginTransaction();
            using var batch = new NpgsqlBatch(connection, transaction);
            if (covered is { IsEmpty: false })
            {
                // Merges of one series run one at a time, so two writers never insert clashing ranges.
                batch.BatchCommands.Add(Statement("SELECT pg_advisory_xact_lock($1, hashtext($2))", SeriesLockClass, series.ToString()));
            }
            if (unique.Count > 0) batch.BatchCommands.Add(PostgresCandleRows.Upsert(unique, _time.GetUtcNow().UtcDateTime));
            if (covered is { IsEmpty: false } range)
                batch.BatchCommands.Add(Statement(MergeCoverageSql, series.Market, series.Unit.Name, range.Start.UtcDateTime, range.End.UtcDateTime));
            if (batch.BatchCommands.Count > 0) batch.ExecuteNonQuery();
            BeforeCommit?.Invoke();
            transaction.Commit();
        });
    }

    private void EnsurePartitions(IReadOnlyList<Candle> candles, string what)
    {
        var months = candles.Select(c => PostgresSchemaSetup.MonthOf(c.StartUtc)).Distinct().ToList();
        if (months.Any(m => !_partitions.ContainsKey(m)))
            _retry.Run(what, c => PostgresSchemaSetup.EnsurePartitions(c, months, _partitions));
    }

    private static NpgsqlBatchCommand Statement(string sql, params object[] values)
    {
        var statement = new NpgsqlBatchCommand(sql);
        foreach (var value in values) statement.Parameters.Add(new NpgsqlParameter { Value = value });
        return statement;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params object[] values)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values) command.Parameters.Add(new NpgsqlParameter { Value = value });
        return command;
    }

    private static DateTime Lower(DateTimeOffset? from) => from?.UtcDateTime ?? NoLowerBound;

    private static DateTime Upper(DateTimeOffset? to) => to?.UtcDateTime ?? NoUpperBound;

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
}
