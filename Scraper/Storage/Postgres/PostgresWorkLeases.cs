using Npgsql;
using NpgsqlTypes;
using Scraper.Domain;

namespace Scraper.Storage.Postgres;

/// <summary>
/// Leases in the work_leases table of the shared database, with PostgreSQL's own primitives: a row
/// per piece of work (inserted free with ON CONFLICT DO NOTHING by whoever plans it first), claimed
/// with SELECT … FOR UPDATE SKIP LOCKED when free or expired — so scrapers claiming at the same
/// moment neither wait for each other nor get the same row — and every expiry on the database
/// server's clock (clock_timestamp()), so the hosts' clocks need not agree.
/// </summary>
internal sealed class PostgresWorkLeases : IWorkLeases
{
    private const string Table = "work_leases";

    // Coordination, not data: created by the first scraper that shares the store, and never
    // migrated with the candles (a row lives for seconds to minutes).
    private const string CreateSql =
        $"""
        CREATE TABLE IF NOT EXISTS {Table} (
            kind       text NOT NULL CHECK (kind IN ('windows', 'follow', 'member')),
            market     text NOT NULL,
            unit       text NOT NULL,
            start_utc  timestamptz NOT NULL,
            owner      text NOT NULL,
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (kind, market, unit, start_utc)
        )
        """;

    // The candidates as one array per column, numbered in a global order (start, market, unit) that
    // every scraper shares, so concurrent claims lock rows in the same order.
    private const string Wanted =
        "SELECT w.market, w.unit, w.start_utc, w.ord FROM unnest($3::text[], $4::text[], $5::timestamptz[]) WITH ORDINALITY AS w(market, unit, start_utc, ord)";

    // Free rows have no owner and expired at -infinity.
    private const string AddFreeSql =
        $"""
        WITH wanted AS (SELECT w.market, w.unit, w.start_utc, w.ord FROM unnest($2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS w(market, unit, start_utc, ord))
        INSERT INTO {Table} (kind, market, unit, start_utc, owner, expires_at)
        SELECT $1, w.market, w.unit, w.start_utc, '', '-infinity' FROM wanted w
        WHERE NOT EXISTS (SELECT 1 FROM {Table} l WHERE l.kind = $1 AND l.market = w.market AND l.unit = w.unit AND l.start_utc = w.start_utc)
        ORDER BY w.ord
        ON CONFLICT DO NOTHING
        """;

    private const string TakeSql =
        $"""
        WITH wanted AS ({Wanted}),
        expired AS (
            SELECT l.kind, l.market, l.unit, l.start_utc, l.owner, w.ord FROM {Table} l
            JOIN wanted w ON l.market = w.market AND l.unit = w.unit AND l.start_utc = w.start_utc
            WHERE l.kind = $1 AND l.expires_at < clock_timestamp()
            ORDER BY w.ord LIMIT $7
            FOR UPDATE OF l SKIP LOCKED)
        UPDATE {Table} l SET owner = $2, expires_at = clock_timestamp() + $6::double precision * interval '1 millisecond'
        FROM expired e
        WHERE l.kind = e.kind AND l.market = e.market AND l.unit = e.unit AND l.start_utc = e.start_utc
        RETURNING l.market, l.unit, l.start_utc, e.owner NOT IN ('', $2)
        """;

    private const string RenewSql =
        $"""
        WITH wanted AS ({Wanted})
        UPDATE {Table} l SET expires_at = clock_timestamp() + $6::double precision * interval '1 millisecond'
        FROM wanted w
        WHERE l.kind = $1 AND l.owner = $2 AND l.market = w.market AND l.unit = w.unit AND l.start_utc = w.start_utc
        RETURNING l.market, l.unit, l.start_utc, false
        """;

    private const string ReleaseSql =
        $"""
        WITH wanted AS ({Wanted})
        DELETE FROM {Table} l USING wanted w
        WHERE l.kind = $1 AND l.owner = $2 AND l.market = w.market AND l.unit = w.unit AND l.start_utc = w.start_utc
        """;

    // A member row per scraper: how many are alive decides each one's share of the series to follow.
    private const string HeartbeatSql =
        $"""
        INSERT INTO {Table} (kind, market, unit, start_utc, owner, expires_at)
        VALUES ('member', $1, '', 'epoch', $1, clock_timestamp() + $2::double precision * interval '1 millisecond')
        ON CONFLICT (kind, market, unit, start_utc) DO UPDATE SET expires_at = excluded.expires_at
        """;

    private const string MembersSql = $"SELECT count(*)::int FROM {Table} WHERE kind = 'member' AND expires_at > clock_timestamp()";

    private readonly NpgsqlDataSource _source;
    private readonly PostgresRetry _retry;
    private readonly CancellationTokenSource _stop;
    private readonly IFleetEvents? _events;
    private readonly TimeProvider _time;
    private readonly LeaseDeadlines _held;
    private int _disposed;

    private PostgresWorkLeases(NpgsqlDataSource source, PostgresRetry retry, CancellationTokenSource stop, string instance, TimeSpan period, IFleetEvents? events, TimeProvider time)
    {
        _source = source;
        _retry = retry;
        _stop = stop;
        Instance = instance;
        Period = period;
        _events = events;
        _time = time;
        _held = new LeaseDeadlines(period, time);
    }

    /// <inheritdoc />
    public bool IsShared => true;

    /// <inheritdoc />
    public string Instance { get; }

    /// <inheritdoc />
    public TimeSpan Period { get; }

    /// <summary>
    /// Opens the leases of a store that <see cref="PostgresCandleStore.Open(PostgresConnectionSettings, TimeProvider, PostgresStoreOptions?)"/>
    /// has opened (and migrated) before, creating the lease table when missing. Transient failures are waited out as the store's are.
    /// </summary>
    public static PostgresWorkLeases Open(PostgresConnectionSettings settings, string instance, TimeSpan period, TimeProvider time,
        PostgresStoreOptions options, IFleetEvents? events = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentException.ThrowIfNullOrWhiteSpace(instance);
        ArgumentOutOfRangeException.ThrowIfLessThan(period, TimeSpan.FromMilliseconds(100));
        ArgumentNullException.ThrowIfNull(options);
        var builder = new NpgsqlSlimDataSourceBuilder(settings.ConnectionString);
        builder.EnableArrays();
        var source = builder.Build();
        var stop = CancellationTokenSource.CreateLinkedTokenSource(options.Stop);
        var retry = new PostgresRetry(source, settings.Target, time, options.Availability, stop.Token);
        var leases = new PostgresWorkLeases(source, retry, stop, instance, period, events, time);
        try
        {
            retry.Run("creating the lease table", connection =>
            {
                using var transaction = connection.BeginTransaction();
                using (var lockSchema = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({PostgresSchema.SchemaLock})", connection)) lockSchema.ExecuteNonQuery();
                using (var create = new NpgsqlCommand(CreateSql, connection)) create.ExecuteNonQuery();
                transaction.Commit();
            });
            return leases;
        }
        catch
        {
            leases.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<(WorkLease Lease, bool TakenOver)> Claim(IReadOnlyCollection<WorkLease> candidates, int max)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Count == 0 || max <= 0) return [];
        var kind = SingleKind(candidates);
        var ordered = candidates.Distinct().OrderBy(c => c.Start).ThenBy(c => c.Series.Market, StringComparer.Ordinal).ThenBy(c => c.Series.Unit.Name, StringComparer.Ordinal).ToList();
        var claiming = _held.Now();
        var granted = Call($"claiming {kind} leases", connection =>
        {
            // Two statements, each its own transaction: the free rows are committed before any is
            // claimed, so a scraper claiming at the same moment skips rows locked by this one.
            using (var add = Command(connection, AddFreeSql, kind, ordered, null, withOwner: false, withPeriod: false)) add.ExecuteNonQuery();
            return Rows(connection, TakeSql, kind, ordered, max);
        });
        foreach (var (lease, _) in granted) _held.Hold(lease, claiming);
        if (granted.Count > 0) _events?.Claimed(kind, granted.Count, granted.Count(g => g.Flag));
        return [.. granted.Select(g => (g.Lease, g.Flag))];
    }

    /// <inheritdoc />
    public IReadOnlyCollection<WorkLease> Renew(IReadOnlyCollection<WorkLease> held)
    {
        ArgumentNullException.ThrowIfNull(held);
        if (held.Count == 0) return [];
        var kind = SingleKind(held);
        List<(WorkLease Lease, bool Flag)> kept;
        var renewing = _held.Now();
        try
        {
            kept = Call($"renewing {kind} leases", connection => Rows(connection, RenewSql, kind, [.. held], null));
        }
        catch (StoreException)
        {
            _events?.RenewalFailed(kind, held.Count);
            throw;
        }
        var still = kept.Select(k => k.Lease).ToHashSet();
        foreach (var lease in still) _held.Renewed(lease, renewing);
        var lost = held.Where(h => !still.Contains(h)).ToList();
        foreach (var lease in lost) _held.Forget(lease);
        if (lost.Count > 0) _events?.RenewalFailed(kind, lost.Count);
        return still;
    }

    /// <inheritdoc />
    public void Release(IReadOnlyCollection<WorkLease> leases)
    {
        ArgumentNullException.ThrowIfNull(leases);
        if (leases.Count == 0) return;
        foreach (var lease in leases) _held.Forget(lease);
        var kind = SingleKind(leases);
        Call($"releasing {kind} leases", connection =>
        {
            using var command = Command(connection, ReleaseSql, kind, [.. leases], null, withPeriod: false);
            return command.ExecuteNonQuery();
        });
    }

    /// <inheritdoc />
    public int Heartbeat()
    {
        var members = Call("announcing this scraper", connection =>
        {
            using (var beat = new NpgsqlCommand(HeartbeatSql, connection))
            {
                beat.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Instance });
                beat.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (long)Period.TotalMilliseconds });
                beat.ExecuteNonQuery();
            }
            using var count = new NpgsqlCommand(MembersSql, connection);
            return (int)count.ExecuteScalar()!;
        });
        _events?.Members(members);
        return members;
    }

    /// <inheritdoc />
    public IReadOnlyList<WorkLease> Held(LeaseKind kind) => _held.Held(kind);

    /// <inheritdoc />
    public bool Holds(WorkLease lease) => _held.Holds(lease);

    /// <inheritdoc />
    public IReadOnlyList<WorkLease> DropExpired(LeaseKind kind) => _held.DropExpired(kind);

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _stop.Cancel();
        _source.Dispose();
        _stop.Dispose();
    }

    /// <summary>Runs one unit of work, timing it for the round-trip metric.</summary>
    private T Call<T>(string what, Func<NpgsqlConnection, T> work)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        return _retry.Run(what, connection =>
        {
            var started = _time.GetTimestamp();
            try
            {
                var result = work(connection);
                _events?.DatabaseCall(_time.GetElapsedTime(started), failed: false);
                return result;
            }
            catch
            {
                _events?.DatabaseCall(_time.GetElapsedTime(started), failed: true);
                throw;
            }
        });
    }

    private List<(WorkLease Lease, bool Flag)> Rows(NpgsqlConnection connection, string sql, LeaseKind kind, List<WorkLease> leases, int? limit)
    {
        using var command = Command(connection, sql, kind, leases, limit);
        using var reader = command.ExecuteReader();
        var rows = new List<(WorkLease, bool)>();
        while (reader.Read())
        {
            var unit = reader.GetString(1);
            var series = new SeriesKey(reader.GetString(0), CandleUnit.TryParse(unit, out var u) ? u : throw new StoreException($"unknown candle unit '{unit}' in {Table}"));
            rows.Add((new WorkLease(kind, series, new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(2), DateTimeKind.Utc))), reader.GetBoolean(3)));
        }
        return rows;
    }

    /// <summary>$1 kind, $2 owner, $3-$5 the leases, then $6 the period and $7 the limit; each statement gets only those it uses (without the owner the leases are $2-$4).</summary>
    private NpgsqlCommand Command(NpgsqlConnection connection, string sql, LeaseKind kind, List<WorkLease> leases, int? limit, bool withPeriod = true, bool withOwner = true)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = KindName(kind) });
        if (withOwner) command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Instance });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. leases.Select(l => l.Series.Market)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. leases.Select(l => l.Series.Unit.Name)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = [.. leases.Select(l => l.Start.UtcDateTime)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        if (withPeriod) command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (long)Period.TotalMilliseconds });
        if (limit is { } max) command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = max });
        return command;
    }

    private static string KindName(LeaseKind kind) => kind == LeaseKind.Follow ? "follow" : "windows";

    private static LeaseKind SingleKind(IReadOnlyCollection<WorkLease> leases)
    {
        var kind = leases.First().Kind;
        return leases.All(l => l.Kind == kind) ? kind : throw new ArgumentException("leases of one kind at a time", nameof(leases));
    }
}
