using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Scraper.Exchange;

namespace Scraper.Storage;

/// <summary>
/// The durable candle store: one SQLite file in WAL mode. Candles and the coverage they complete are
/// written in one transaction, so after any crash the coverage never claims a range whose candles
/// are missing. One instance is safe to share between threads; several instances (or processes) may
/// open the same file, e.g. the daemon writing while <c>verify</c> or <c>export</c> reads.
/// </summary>
public sealed class SqliteCandleStore : ICandleStore
{
    private const string FetchedAtFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>Sorts before and after every instant text; stands for an open bound.</summary>
    private const string OpenLowerBound = "";
    private const string OpenUpperBound = "~";

    private const int ReadPageSize = 1000;
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;
    private const int SqliteReadOnly = 8;
    private const int SqliteIoError = 10;
    private const int SqliteCantOpen = 14;
    private const int ErrnoReadOnlyFileSystem = 30; // EROFS; .NET puts errno into IOException.HResult on Unix

    private const string CandleColumns =
        "candle_date_time_utc, candle_date_time_kst, opening_price, high_price, low_price, trade_price, timestamp, " +
        "candle_acc_trade_price, candle_acc_trade_volume, prev_closing_price, change_price, change_rate";

    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;
    private readonly TimeProvider _time;
    private readonly bool _readOnly;
    private readonly List<SqliteCommand> _commands = [];
    private readonly SqliteCommand _upsert;
    private readonly SqliteCommand _coverageOverlapping;
    private readonly SqliteCommand _coverageDelete;
    private readonly SqliteCommand _coverageInsert;
    private readonly SqliteCommand _coverageRead;
    private readonly SqliteCommand _count;
    private readonly SqliteCommand _readFirstPage;
    private readonly SqliteCommand _readNextPage;
    private readonly SqliteCommand _newest;
    private readonly SqliteCommand _nextUnitOfMarket;
    private readonly SqliteCommand _firstSeriesAfterMarket;
    private readonly SqliteCommand _coverageSeries;
    private bool _disposed;

    private SqliteCandleStore(string path, SqliteConnection connection, TimeProvider time, bool readOnly)
    {
        Path = path;
        _connection = connection;
        _time = time;
        _readOnly = readOnly;

        _upsert = Command(
            $"""
            INSERT INTO candles (market, unit, {CandleColumns}, fetched_at)
            VALUES ($market, $unit, $utc, $kst, $open, $high, $low, $close, $timestamp, $accPrice, $accVolume,
                    $prevClose, $change, $changeRate, $fetchedAt)
            ON CONFLICT (market, unit, candle_date_time_utc) DO UPDATE SET
                candle_date_time_kst = excluded.candle_date_time_kst,
                opening_price = excluded.opening_price,
                high_price = excluded.high_price,
                low_price = excluded.low_price,
                trade_price = excluded.trade_price,
                timestamp = excluded.timestamp,
                candle_acc_trade_price = excluded.candle_acc_trade_price,
                candle_acc_trade_volume = excluded.candle_acc_trade_volume,
                prev_closing_price = excluded.prev_closing_price,
                change_price = excluded.change_price,
                change_rate = excluded.change_rate,
                fetched_at = excluded.fetched_at
            """,
            "$market", "$unit", "$utc", "$kst", "$open", "$high", "$low", "$close", "$timestamp", "$accPrice",
            "$accVolume", "$prevClose", "$change", "$changeRate", "$fetchedAt");

        // Overlapping or touching ranges: start <= new end and end >= new start.
        const string touching = "market = $market AND unit = $unit AND start_utc <= $end AND end_utc >= $start";
        _coverageOverlapping = Command($"SELECT start_utc, end_utc FROM coverage WHERE {touching}", "$market", "$unit", "$start", "$end");
        _coverageDelete = Command($"DELETE FROM coverage WHERE {touching}", "$market", "$unit", "$start", "$end");
        _coverageInsert = Command(
            "INSERT INTO coverage (market, unit, start_utc, end_utc) VALUES ($market, $unit, $start, $end)",
            "$market", "$unit", "$start", "$end");
        _coverageRead = Command(
            "SELECT start_utc, end_utc FROM coverage WHERE market = $market AND unit = $unit ORDER BY start_utc",
            "$market", "$unit");
        _count = Command(
            """
            SELECT count(*) FROM candles
            WHERE market = $market AND unit = $unit AND candle_date_time_utc >= $from AND candle_date_time_utc < $to
            """,
            "$market", "$unit", "$from", "$to");
        // Keyset paging. The next page has one lower bound only (> the last key read): given two,
        // SQLite would seek by the first and scan every earlier row again on each page.
        _readFirstPage = Command(
            $"""
            SELECT {CandleColumns} FROM candles
            WHERE market = $market AND unit = $unit AND candle_date_time_utc >= $lower AND candle_date_time_utc < $to
            ORDER BY candle_date_time_utc
            LIMIT {ReadPageSize}
            """,
            "$market", "$unit", "$lower", "$to");
        _readNextPage = Command(
            $"""
            SELECT {CandleColumns} FROM candles
            WHERE market = $market AND unit = $unit AND candle_date_time_utc > $lower AND candle_date_time_utc < $to
            ORDER BY candle_date_time_utc
            LIMIT {ReadPageSize}
            """,
            "$market", "$unit", "$lower", "$to");
        _newest = Command(
            "SELECT max(candle_date_time_utc) FROM candles WHERE market = $market AND unit = $unit",
            "$market", "$unit");
        // Skip from series to series through the primary key instead of scanning every candle.
        _nextUnitOfMarket = Command(
            "SELECT unit FROM candles WHERE market = $market AND unit > $unit ORDER BY unit LIMIT 1",
            "$market", "$unit");
        _firstSeriesAfterMarket = Command(
            "SELECT market, unit FROM candles WHERE market > $market ORDER BY market, unit LIMIT 1",
            "$market");
        _coverageSeries = Command("SELECT DISTINCT market, unit FROM coverage");
    }

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    /// <summary>Called inside the save transaction just before it commits; tests use it to fail a save late.</summary>
    internal Action? BeforeCommit { get; set; }

    /// <summary>
    /// Opens (or, unless <paramref name="readOnly"/>, creates) the store at <paramref name="path"/> and
    /// brings its schema up to date. An existing file is inspected read-only first: a file that is not
    /// an SQLite database, belongs to another application or has a newer schema is refused with a
    /// <see cref="StoreException"/> and left byte-for-byte untouched.
    /// </summary>
    public static SqliteCandleStore Open(string path, TimeProvider time, bool readOnly = false) =>
        Open(path, time, readOnly, StoreSchema.Migrations);

    internal static SqliteCandleStore Open(string path, TimeProvider time, bool readOnly, IReadOnlyList<Migration> migrations)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(migrations);

        var fullPath = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
            throw new StoreException($"{fullPath} is a directory, not an SQLite database");
        var directory = System.IO.Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
            throw new StoreException($"{fullPath} cannot be created: directory {directory} does not exist");

        var knownVersion = migrations[^1].Version;
        var version = 0;
        if (File.Exists(fullPath))
            version = Inspect(fullPath, knownVersion);
        else if (readOnly)
            throw new StoreException($"{fullPath} does not exist (opened read-only, so it is not created)");

        if (readOnly && version == 0)
            throw new StoreException($"{fullPath} is an empty database, not a bitcoin-price-scraper store");
        if (readOnly && version < knownVersion)
            throw new StoreException(
                $"{fullPath} has schema version {version} and needs migrating to {knownVersion}; open it once read-write (run or backfill)");

        SqliteConnection? connection = null;
        try
        {
            connection = OpenConnection(fullPath, readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate);
            if (!readOnly)
            {
                // WAL lets verify/export read while the daemon writes. synchronous=FULL makes a commit
                // durable (the WAL is synced): "stored" survives a power cut or a file system that turns
                // read-only, not only a crash of this process. It costs one fsync per response, at most
                // ten a second. Candles and their coverage commit atomically either way.
                Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
                if (version < knownVersion) Migrate(connection, migrations, time);
            }
            return new SqliteCandleStore(fullPath, connection, time, readOnly);
        }
        catch (SqliteException ex)
        {
            connection?.Dispose();
            throw new StoreException($"{fullPath} cannot be opened: {OneLine(ex)}", ex);
        }
        catch
        {
            connection?.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public int SaveResponse(SeriesKey series, IReadOnlyList<Candle> candles, TimeRange? covered)
    {
        ArgumentNullException.ThrowIfNull(candles);
        ArgumentException.ThrowIfNullOrEmpty(series.Market, nameof(series));
        foreach (var candle in candles)
        {
            if (candle is null || candle.Market != series.Market || candle.Unit != series.Unit)
                throw new ArgumentException($"every candle must belong to {series}; got {candle?.Market}/{candle?.Unit}", nameof(candles));
        }

        lock (_gate)
        {
            ThrowIfDisposed();
            if (_readOnly) throw new InvalidOperationException($"{Path} was opened read-only");
            try
            {
                // BEGIN IMMEDIATE (the default here): the write lock is taken up front, so a reader
                // in another process can never force this transaction to fail half way.
                using var transaction = _connection.BeginTransaction();
                var fetchedAt = _time.GetUtcNow().UtcDateTime.ToString(FetchedAtFormat, CultureInfo.InvariantCulture);
                var unit = series.Unit.Name;
                _upsert.Transaction = transaction;
                var p = _upsert.Parameters;
                foreach (var candle in candles)
                {
                    p[0].Value = candle.Market;
                    p[1].Value = unit;
                    p[2].Value = FormatInstant(candle.StartUtc);
                    p[3].Value = (object?)candle.StartKst ?? DBNull.Value;
                    p[4].Value = FormatDecimal(candle.OpeningPrice);
                    p[5].Value = FormatDecimal(candle.HighPrice);
                    p[6].Value = FormatDecimal(candle.LowPrice);
                    p[7].Value = FormatDecimal(candle.TradePrice);
                    p[8].Value = candle.Timestamp;
                    p[9].Value = FormatDecimal(candle.AccTradePrice);
                    p[10].Value = FormatDecimal(candle.AccTradeVolume);
                    p[11].Value = FormatDecimal(candle.PrevClosingPrice);
                    p[12].Value = FormatDecimal(candle.ChangePrice);
                    p[13].Value = FormatDecimal(candle.ChangeRate);
                    p[14].Value = fetchedAt;
                    _upsert.ExecuteNonQuery();
                }
                if (covered is { IsEmpty: false } range) MergeCoverage(transaction, series.Market, unit, range);
                BeforeCommit?.Invoke();
                transaction.Commit();
            }
            catch (SqliteException ex)
            {
                var cause = ex.SqliteErrorCode is SqliteReadOnly or SqliteIoError or SqliteCantOpen ? WhyNotWritable(Path) : null;
                throw new StoreException($"{Path}: saving {candles.Count} candles of {series} failed: {OneLine(ex)}{(cause is null ? "" : "; " + cause)}", ex);
            }
            finally
            {
                foreach (var command in _commands) command.Transaction = null;
            }
        }
        return candles.Count;
    }

    /// <inheritdoc />
    public IReadOnlyList<TimeRange> GetCoverage(SeriesKey series)
    {
        ArgumentException.ThrowIfNullOrEmpty(series.Market, nameof(series));
        lock (_gate)
        {
            ThrowIfDisposed();
            Bind(_coverageRead, series.Market, series.Unit.Name);
            var ranges = new List<TimeRange>();
            using var reader = _coverageRead.ExecuteReader();
            while (reader.Read())
                ranges.Add(new TimeRange(ParseInstant(reader.GetString(0)), ParseInstant(reader.GetString(1))));
            return ranges;
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
                Bind(_firstSeriesAfterMarket, market);
                string? unit;
                using (var reader = _firstSeriesAfterMarket.ExecuteReader())
                {
                    if (!reader.Read()) break;
                    market = reader.GetString(0);
                    unit = reader.GetString(1);
                }
                while (unit is not null)
                {
                    found.Add((market, unit));
                    Bind(_nextUnitOfMarket, market, unit);
                    unit = _nextUnitOfMarket.ExecuteScalar() as string;
                }
            }
            using (var reader = _coverageSeries.ExecuteReader())
            {
                while (reader.Read()) found.Add((reader.GetString(0), reader.GetString(1)));
            }
            return found
                .Select(s => new SeriesKey(s.Market, ParseUnit(s.Unit)))
                .OrderBy(s => s.Market, StringComparer.Ordinal)
                .ThenBy(s => s.Unit.Interval)
                .ToList();
        }
    }

    /// <inheritdoc />
    public long CountCandles(SeriesKey series, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(series.Market, nameof(series));
        lock (_gate)
        {
            ThrowIfDisposed();
            Bind(_count, series.Market, series.Unit.Name, LowerBound(from), UpperBound(to));
            return (long)_count.ExecuteScalar()!;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Reads pages of <see cref="ReadPageSize"/> candles by key, releasing the lock between pages, so
    /// memory stays flat however long the series is and writers are never held up by a slow consumer.
    /// </remarks>
    public IEnumerable<Candle> ReadCandles(SeriesKey series, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(series.Market, nameof(series));
        return ReadPages(series, LowerBound(from), UpperBound(to));
    }

    /// <inheritdoc />
    public DateTimeOffset? NewestCandleStart(SeriesKey series)
    {
        ArgumentException.ThrowIfNullOrEmpty(series.Market, nameof(series));
        lock (_gate)
        {
            ThrowIfDisposed();
            Bind(_newest, series.Market, series.Unit.Name);
            return _newest.ExecuteScalar() is string newest ? ParseInstant(newest) : null;
        }
    }

    /// <summary>The result of PRAGMA integrity_check: "ok", or one problem per line.</summary>
    public string IntegrityCheck()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            using var command = _connection.CreateCommand();
            command.CommandText = "PRAGMA integrity_check";
            using var reader = command.ExecuteReader();
            var lines = new List<string>();
            while (reader.Read()) lines.Add(reader.GetString(0));
            return string.Join('\n', lines);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var command in _commands) command.Dispose();
            _connection.Dispose();
        }
    }

    private IEnumerable<Candle> ReadPages(SeriesKey series, string from, string to)
    {
        var command = _readFirstPage;
        var lower = from;
        while (true)
        {
            var page = new List<Candle>(ReadPageSize);
            lock (_gate)
            {
                ThrowIfDisposed();
                Bind(command, series.Market, series.Unit.Name, lower, to);
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    lower = reader.GetString(0);
                    page.Add(ReadCandle(series, reader));
                }
            }
            foreach (var candle in page) yield return candle;
            if (page.Count < ReadPageSize) yield break;
            command = _readNextPage;
        }
    }

    private Candle ReadCandle(SeriesKey series, SqliteDataReader reader)
    {
        var start = reader.GetString(0);
        try
        {
            return new Candle(
                series.Market,
                series.Unit,
                ParseInstant(start),
                reader.GetString(1),
                ParseDecimal(reader.GetString(2)),
                ParseDecimal(reader.GetString(3)),
                ParseDecimal(reader.GetString(4)),
                ParseDecimal(reader.GetString(5)),
                reader.GetInt64(6),
                ParseDecimal(reader.GetString(7)),
                ParseDecimal(reader.GetString(8)),
                reader.IsDBNull(9) ? null : ParseDecimal(reader.GetString(9)),
                reader.IsDBNull(10) ? null : ParseDecimal(reader.GetString(10)),
                reader.IsDBNull(11) ? null : ParseDecimal(reader.GetString(11)));
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or InvalidCastException)
        {
            throw new StoreException($"{Path}: candle {series} at {start} holds a malformed value: {ex.Message}", ex);
        }
    }

    private void MergeCoverage(SqliteTransaction transaction, string market, string unit, TimeRange range)
    {
        var start = range.Start;
        var end = range.End;
        _coverageOverlapping.Transaction = transaction;
        Bind(_coverageOverlapping, market, unit, FormatInstant(start), FormatInstant(end));
        using (var reader = _coverageOverlapping.ExecuteReader())
        {
            while (reader.Read())
            {
                var rowStart = ParseInstant(reader.GetString(0));
                var rowEnd = ParseInstant(reader.GetString(1));
                if (rowStart < start) start = rowStart;
                if (rowEnd > end) end = rowEnd;
            }
        }
        _coverageDelete.Transaction = transaction;
        Bind(_coverageDelete, market, unit, FormatInstant(range.Start), FormatInstant(range.End));
        _coverageDelete.ExecuteNonQuery();
        _coverageInsert.Transaction = transaction;
        Bind(_coverageInsert, market, unit, FormatInstant(start), FormatInstant(end));
        _coverageInsert.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql, params string[] parameterNames)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameterNames) command.Parameters.Add(new SqliteParameter(name, null));
        _commands.Add(command);
        command.Prepare();
        return command;
    }

    private static void Bind(SqliteCommand command, params string[] values)
    {
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i];
    }

    private static SqliteConnection OpenConnection(string path, SqliteOpenMode mode)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = mode,
            // One long-lived connection per store; pooling would only keep file handles open after Dispose.
            Pooling = false,
        }.ToString();
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Looks at an existing file without writing to it and returns its schema version (0 for an empty
    /// database), or throws when the file must not be touched.
    /// </summary>
    private static int Inspect(string path, int knownVersion)
    {
        if (new FileInfo(path).Length == 0) return 0;
        if (!HasSqliteHeader(path)) throw NotSqlite(path, null);
        try
        {
            using var connection = OpenConnection(InspectionSource(path), SqliteOpenMode.ReadOnly);
            var objects = new List<string>();
            using (var command = connection.CreateCommand())
            {
                command.CommandText =
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
                using var reader = command.ExecuteReader();
                while (reader.Read()) objects.Add(reader.GetString(0));
            }
            if (objects.Count == 0) return 0;

            var applicationId = Convert.ToInt64(Scalar(connection, "PRAGMA application_id"), CultureInfo.InvariantCulture);
            if (!objects.Contains(StoreSchema.VersionTable) || applicationId != StoreSchema.ApplicationId)
            {
                var shown = objects.Count <= 10 ? string.Join(", ", objects) : string.Join(", ", objects.Take(10)) + ", …";
                throw new StoreException($"{path} is a foreign database (tables: {shown}), not a bitcoin-price-scraper store");
            }

            var version = Convert.ToInt32(
                Scalar(connection, $"SELECT coalesce(max(version), 0) FROM {StoreSchema.VersionTable}"), CultureInfo.InvariantCulture);
            if (version > knownVersion)
                throw new StoreException(
                    $"{path} has schema version {version}, newer than this build of bitcoin-price-scraper knows ({knownVersion}); use a newer release");
            return version;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is SqliteCorrupt or SqliteNotADatabase)
        {
            throw NotSqlite(path, ex);
        }
        catch (SqliteException ex)
        {
            throw new StoreException($"{path} cannot be read: {OneLine(ex)}", ex);
        }
    }

    /// <summary>
    /// Even a read-only connection creates -wal and -shm files beside a WAL-mode database. When no -wal
    /// file exists nobody has the database open in WAL mode and every committed page is in the main file,
    /// so it is read as immutable: no lock, no side file, nothing written next to a file we may refuse.
    /// </summary>
    private static string InspectionSource(string path)
    {
        if (File.Exists(path + "-wal")) return path;
        var uri = new StringBuilder("file:");
        foreach (var b in Encoding.UTF8.GetBytes(path))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'/' or (byte)'.' or (byte)'-' or (byte)'_' or (byte)'~')
                uri.Append((char)b);
            else
                uri.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return uri.Append("?immutable=1").ToString();
    }

    private static StoreException NotSqlite(string path, Exception? inner)
    {
        var message = $"{path} is not an SQLite database (or is corrupted)";
        return inner is null ? new StoreException(message) : new StoreException(message, inner);
    }

    private static bool HasSqliteHeader(string path)
    {
        ReadOnlySpan<byte> magic = "SQLite format 3\0"u8;
        Span<byte> header = stackalloc byte[16];
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) == header.Length && header.SequenceEqual(magic);
    }

    private static void Migrate(SqliteConnection connection, IReadOnlyList<Migration> migrations, TimeProvider time)
    {
        foreach (var migration in migrations)
        {
            // IMMEDIATE transaction and a fresh look at the version inside it: two processes opening
            // a new file at once apply each step exactly once.
            using var transaction = connection.BeginTransaction();
            var current = CurrentVersion(connection, transaction);
            if (migration.Version <= current) continue;
            if (migration.Version != current + 1)
                throw new InvalidOperationException($"migration {migration.Version} cannot follow version {current}");

            using (var step = connection.CreateCommand())
            {
                step.Transaction = transaction;
                step.CommandText = migration.Sql;
                step.ExecuteNonQuery();
            }
            using (var record = connection.CreateCommand())
            {
                record.Transaction = transaction;
                record.CommandText =
                    $"INSERT INTO {StoreSchema.VersionTable} (version, description, applied_at) VALUES ($version, $description, $at)";
                record.Parameters.AddWithValue("$version", migration.Version);
                record.Parameters.AddWithValue("$description", migration.Description);
                record.Parameters.AddWithValue("$at", time.GetUtcNow().UtcDateTime.ToString(FetchedAtFormat, CultureInfo.InvariantCulture));
                record.ExecuteNonQuery();
            }
            transaction.Commit();
        }
    }

    private static int CurrentVersion(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{StoreSchema.VersionTable}'";
        if ((long)command.ExecuteScalar()! == 0) return 0;
        command.CommandText = $"SELECT coalesce(max(version), 0) FROM {StoreSchema.VersionTable}";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static CandleUnit ParseUnit(string text) =>
        CandleUnit.TryParse(text, out var unit) ? unit : throw new StoreException($"unknown candle unit '{text}' in the store");

    private static string LowerBound(DateTimeOffset? from) => from is { } instant ? FormatInstant(instant) : OpenLowerBound;

    private static string UpperBound(DateTimeOffset? to) => to is { } instant ? FormatInstant(instant) : OpenUpperBound;

    // Instants are compared as text in SQL (on the primary-key index); InstantText keeps text order = time order.
    private static string FormatInstant(DateTimeOffset instant) => InstantText.From(instant);

    private static DateTimeOffset ParseInstant(string text) => InstantText.Parse(text);

    private static string FormatDecimal(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    private static object FormatDecimal(decimal? value) => value is { } v ? FormatDecimal(v) : DBNull.Value;

    private static decimal ParseDecimal(string text) => decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static string OneLine(SqliteException ex) => ex.Message.ReplaceLineEndings(" ");

    /// <summary>
    /// SQLite says only "disk I/O error" when the file system turned read-only under it; the
    /// operating system says why. Probes by creating a file beside the database (opening the
    /// database file itself a second time would drop SQLite's POSIX locks when closed).
    /// </summary>
    private static string? WhyNotWritable(string path)
    {
        var probe = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path) ?? ".", $".bitcoin-price-scraper-probe-{Environment.ProcessId}");
        try
        {
            using var file = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
            return null;
        }
        catch (IOException e) when (e.HResult == ErrnoReadOnlyFileSystem)
        {
            return "the file system is read-only";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "its directory is not writable: " + e.Message.ReplaceLineEndings(" ").Split(" : '")[0];
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
