using Microsoft.Data.Sqlite;
using Scraper.Domain;

namespace Scraper.Storage.Sqlite;

/// <summary>
/// The durable candle store in one SQLite file in WAL mode. Candles and the coverage they complete are
/// written in one transaction, so after any crash the coverage never claims a range whose candles
/// are missing. One instance is safe to share between threads; several instances (or processes) may
/// open the same file, e.g. the daemon writing while <c>verify</c> or <c>export</c> reads.
/// </summary>
internal sealed class SqliteCandleStore : ICandleStore
{
    /// <summary>Sorts before and after every instant text; stands for an open bound.</summary>
    private const string OpenLowerBound = "";
    private const string OpenUpperBound = "~";

    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;
    private readonly SqliteStatements _statements;
    private readonly SqliteWriteTransaction _transaction;
    private readonly TimeProvider _time;
    private readonly bool _readOnly;
    private bool _disposed;

    internal SqliteCandleStore(string path, SqliteConnection connection, TimeProvider time, bool readOnly)
    {
        Path = path;
        _connection = connection;
        _time = time;
        _readOnly = readOnly;
        _statements = new SqliteStatements(connection);
        _transaction = new SqliteWriteTransaction(connection);
    }

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    /// <summary>Called inside the save transaction just before it commits; tests use it to fail a save late.</summary>
    internal Action? BeforeCommit { get; set; }

    /// <summary>Program steps the candle upsert has run since it was prepared; tests read the work per candle from it.</summary>
    internal long UpsertProgramSteps => _statements.Upsert.ProgramSteps;

    /// <summary>
    /// Opens (or, unless <paramref name="readOnly"/>, creates) the store at <paramref name="path"/> and
    /// brings its schema up to date. An existing file is inspected read-only first: a file that is not
    /// an SQLite database, belongs to another application or has a newer schema is refused with a
    /// <see cref="StoreException"/> and left byte-for-byte untouched.
    /// </summary>
    public static SqliteCandleStore Open(string path, TimeProvider time, bool readOnly = false) =>
        SqliteStoreOpener.Open(path, time, readOnly, SqliteSchema.Migrations);

    internal static SqliteCandleStore Open(string path, TimeProvider time, bool readOnly, IReadOnlyList<Migration> migrations) =>
        SqliteStoreOpener.Open(path, time, readOnly, migrations);

    /// <inheritdoc />
    public int SaveResponse(SeriesKey series, IReadOnlyList<Candle> candles, TimeRange? covered)
    {
        StoreArguments.CheckResponse(series, candles);
        Write((Store: this, series, candles, covered), static (s, fetchedAt) =>
        {
            s.Store.Upsert(s.series, s.candles, fetchedAt);
            if (s.covered is { IsEmpty: false } range) s.Store.MergeCoverage(s.series.Market, s.series.Unit.Name, range);
        }, static s => $"saving {s.candles.Count} candles of {s.series}");
        return candles.Count;
    }

    /// <inheritdoc />
    /// <remarks>One prepared upsert for every candle of every series, one commit (one fsync) for the batch.</remarks>
    public int SaveUncovered(IReadOnlyList<SeriesCandles> batch)
    {
        StoreArguments.CheckBatch(batch);
        var count = batch.Sum(entry => entry.Candles.Count);
        Write((Store: this, batch), static (s, fetchedAt) =>
        {
            foreach (var entry in s.batch) s.Store.Upsert(entry.Series, entry.Candles, fetchedAt);
        }, static s => $"saving {s.batch.Sum(entry => entry.Candles.Count)} candles of {s.batch.Count} series");
        return count;
    }

    /// <inheritdoc />
    public IReadOnlyList<TimeRange> GetCoverage(SeriesKey series)
    {
        StoreArguments.CheckSeries(series);
        lock (_gate)
        {
            ThrowIfDisposed();
            var read = _statements.CoverageRead;
            SqliteStatements.Bind(read, series.Market, series.Unit.Name);
            return ReadRanges(read);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<SeriesKey> ListSeries()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            var found = new HashSet<(string Market, string Unit)>();
            var market = OpenLowerBound;
            while (true)
            {
                SqliteStatements.Bind(_statements.FirstSeriesAfterMarket, market);
                string? unit;
                using (var reader = _statements.FirstSeriesAfterMarket.ExecuteReader())
                {
                    if (!reader.Read()) break;
                    market = reader.GetString(0);
                    unit = reader.GetString(1);
                }
                while (unit is not null)
                {
                    found.Add((market, unit));
                    SqliteStatements.Bind(_statements.NextUnitOfMarket, market, unit);
                    unit = _statements.NextUnitOfMarket.ExecuteScalar() as string;
                }
            }
            using (var reader = _statements.CoverageSeries.ExecuteReader())
            {
                while (reader.Read()) found.Add((reader.GetString(0), reader.GetString(1)));
            }
            return found
                .Select(s => new SeriesKey(s.Market, StoredText.ParseUnit(s.Unit)))
                .OrderBy(s => s.Market, StringComparer.Ordinal)
                .ThenBy(s => s.Unit.Interval)
                .ToList();
        }
    }

    /// <inheritdoc />
    public long CountCandles(SeriesKey series, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        StoreArguments.CheckSeries(series);
        lock (_gate)
        {
            ThrowIfDisposed();
            SqliteStatements.Bind(_statements.Count, series.Market, series.Unit.Name, LowerBound(from), UpperBound(to));
            return (long)_statements.Count.ExecuteScalar()!;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Reads pages of <see cref="SqliteStatements.ReadPageSize"/> candles by key, releasing the lock between
    /// pages, so memory stays flat however long the series is and writers are never held up by a slow consumer.
    /// </remarks>
    public IEnumerable<Candle> ReadCandles(SeriesKey series, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        StoreArguments.CheckSeries(series);
        return ReadPages(series, LowerBound(from), UpperBound(to));
    }

    /// <inheritdoc />
    public DateTimeOffset? NewestCandleStart(SeriesKey series)
    {
        StoreArguments.CheckSeries(series);
        lock (_gate)
        {
            ThrowIfDisposed();
            SqliteStatements.Bind(_statements.Newest, series.Market, series.Unit.Name);
            return _statements.Newest.ExecuteScalar() is string newest ? StoredText.ParseInstant(newest) : null;
        }
    }

    /// <summary>The result of PRAGMA integrity_check: "ok", or one problem per line.</summary>
    public string IntegrityCheck()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (_readOnly) return string.Join('\n', SqliteConnections.Column(_connection, "PRAGMA integrity_check"));
            // integrity_check skips the CHECK constraints while the connection ignores them (SqliteStoreOpener).
            SqliteConnections.Execute(_connection, "PRAGMA ignore_check_constraints=OFF;");
            try
            {
                return string.Join('\n', SqliteConnections.Column(_connection, "PRAGMA integrity_check"));
            }
            finally
            {
                SqliteConnections.Execute(_connection, "PRAGMA ignore_check_constraints=ON;");
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _statements.Dispose();
            _transaction.Dispose();
            _connection.Dispose();
        }
    }

    private IEnumerable<Candle> ReadPages(SeriesKey series, string from, string to)
    {
        var command = _statements.ReadFirstPage;
        var lower = from;
        while (true)
        {
            var page = new List<Candle>(SqliteStatements.ReadPageSize);
            lock (_gate)
            {
                ThrowIfDisposed();
                SqliteStatements.Bind(command, series.Market, series.Unit.Name, lower, to);
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    lower = reader.GetString(0);
                    page.Add(SqliteCandleRows.Read(reader, series, Path));
                }
            }
            foreach (var candle in page) yield return candle;
            if (page.Count < SqliteStatements.ReadPageSize) yield break;
            command = _statements.ReadNextPage;
        }
    }

    /// <summary>Runs <paramref name="body"/> in one write transaction, given the fetched_at of its rows; <paramref name="what"/> names it in an error.</summary>
    private void Write<TState>(TState state, Action<TState, string> body, Func<TState, string> what)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (_readOnly) throw new InvalidOperationException($"{Path} was opened read-only");
            try
            {
                // BEGIN IMMEDIATE: the write lock is taken up front, so a reader in another process
                // can never force this transaction to fail half way.
                _transaction.Begin();
                try
                {
                    body(state, StoredText.RecordedAt(_time.GetUtcNow()));
                    BeforeCommit?.Invoke();
                    _transaction.Commit();
                }
                catch
                {
                    _transaction.RollBackIfOpen();
                    throw;
                }
            }
            catch (SqliteException ex)
            {
                throw new StoreException(SqliteErrors.WriteFailed(Path, what(state), ex), ex);
            }
        }
    }

    private void Upsert(SeriesKey series, IReadOnlyList<Candle> candles, string fetchedAt) =>
        _statements.Upsert.Execute(series, candles, fetchedAt);

    /// <summary>Replaces the stored ranges that <paramref name="range"/> touches with their union (<see cref="Coverage.Absorb"/>).</summary>
    private void MergeCoverage(string market, string unit, TimeRange range)
    {
        var start = StoredText.Instant(range.Start);
        var end = StoredText.Instant(range.End);
        var touching = _statements.CoverageTouching;
        SqliteStatements.Bind(touching, market, unit, start, end);
        var merged = Coverage.Absorb(range, ReadRanges(touching));

        var delete = _statements.CoverageDeleteTouching;
        SqliteStatements.Bind(delete, market, unit, start, end);
        delete.ExecuteNonQuery();
        var insert = _statements.CoverageInsert;
        SqliteStatements.Bind(insert, market, unit, StoredText.Instant(merged.Start), StoredText.Instant(merged.End));
        insert.ExecuteNonQuery();
    }

    private static List<TimeRange> ReadRanges(SqliteCommand command)
    {
        var ranges = new List<TimeRange>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
            ranges.Add(new TimeRange(StoredText.ParseInstant(reader.GetString(0)), StoredText.ParseInstant(reader.GetString(1))));
        return ranges;
    }

    private static string LowerBound(DateTimeOffset? from) => from is { } instant ? StoredText.Instant(instant) : OpenLowerBound;

    private static string UpperBound(DateTimeOffset? to) => to is { } instant ? StoredText.Instant(instant) : OpenUpperBound;

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
