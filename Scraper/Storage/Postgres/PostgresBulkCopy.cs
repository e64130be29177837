using Npgsql;
using NpgsqlTypes;
using Scraper.Domain;
using Scraper.Storage.Copy;

namespace Scraper.Storage.Postgres;

/// <summary>
/// The bulk path into PostgreSQL, one transaction per block with its coverage merged. A block whose
/// time range holds no stored candle of its series (a fresh copy) goes by binary COPY straight into
/// candles; otherwise, or when a writer slipped a candle in meanwhile, by binary COPY into a
/// session-local staging table and one INSERT … SELECT with the conflict rule of every other write
/// (<see cref="CandleUpsert"/>). Writes through the store's own pool, so an unavailable server is
/// waited out as for any other call.
/// </summary>
internal sealed class PostgresBulkCopy(PostgresCandleStore store, TimeProvider time) : ICandleBulkWriter
{
    private const string Staging = "candles_copy_staging";

    // Temporary, so every session has its own and nothing is left behind; emptied at each commit.
    private const string CreateStagingSql =
        $"CREATE TEMP TABLE IF NOT EXISTS {Staging} (LIKE candles INCLUDING DEFAULTS) ON COMMIT DELETE ROWS";

    private const string CopySql =
        $"COPY {Staging} (market, unit, {PostgresCandleStore.CandleColumns}, fetched_at) FROM STDIN (FORMAT BINARY)";

    private const string DirectCopySql =
        $"COPY candles (market, unit, {PostgresCandleStore.CandleColumns}, fetched_at) FROM STDIN (FORMAT BINARY)";

    private const string AnyStoredSql =
        "SELECT EXISTS (SELECT 1 FROM candles WHERE market = $1 AND unit = $2 AND candle_date_time_utc >= $3 AND candle_date_time_utc <= $4)";

    private const string UniqueViolation = "23505";

    private const string UpsertSql =
        $"""
        INSERT INTO candles (market, unit, {PostgresCandleStore.CandleColumns}, fetched_at)
        SELECT market, unit, {PostgresCandleStore.CandleColumns}, fetched_at FROM {Staging}
        {CandleUpsert.OnConflictReplace}
        """;

    /// <inheritdoc />
    public void Write(SeriesKey series, IReadOnlyList<Candle> candles, TimeRange? covered)
    {
        StoreArguments.CheckResponse(series, candles);
        // ON CONFLICT may touch a row once per statement: the last candle of a start wins.
        var unique = candles.Count < 2 || candles.Select(c => c.StartUtc).Distinct().Count() == candles.Count
            ? candles
            : candles.GroupBy(c => c.StartUtc).Select(g => g.Last()).ToList();
        var what = $"copying {candles.Count} candles of {series}";
        var months = unique.Select(c => PostgresSchemaSetup.MonthOf(c.StartUtc)).Distinct().ToList();
        if (months.Any(m => !store.Partitions.ContainsKey(m)))
            store.Retry.Run(what, c => PostgresSchemaSetup.EnsurePartitions(c, months, store.Partitions));

        var fetchedAt = time.GetUtcNow().UtcDateTime;
        store.Retry.Run(what, connection =>
        {
            using var transaction = connection.BeginTransaction();
            if (covered is { IsEmpty: false })
                Execute(connection, "SELECT pg_advisory_xact_lock($1, hashtext($2))", PostgresCandleStore.SeriesLockClass, series.ToString());
            if (unique.Count > 0 && !TryCopyDirect(connection, transaction, series, unique, fetchedAt))
            {
                Execute(connection, CreateStagingSql);
                Import(connection, CopySql, series, unique, fetchedAt);
                Execute(connection, UpsertSql);
            }
            if (covered is { IsEmpty: false } range)
                Execute(connection, PostgresCandleStore.MergeCoverageSql, series.Market, series.Unit.Name, range.Start.UtcDateTime, range.End.UtcDateTime);
            transaction.Commit();
        });
    }

    /// <summary>
    /// COPY straight into candles when none of the block's range is stored: no staging table and no
    /// conflict checks. A candle stored meanwhile by a writer that holds no series lock makes the
    /// COPY fail; it is rolled back to the savepoint and the caller takes the upsert path.
    /// </summary>
    private static bool TryCopyDirect(NpgsqlConnection connection, NpgsqlTransaction transaction, SeriesKey series, IReadOnlyList<Candle> candles, DateTime fetchedAt)
    {
        var first = candles.Min(c => c.StartUtc).UtcDateTime;
        var last = candles.Max(c => c.StartUtc).UtcDateTime;
        using (var check = new NpgsqlCommand(AnyStoredSql, connection))
        {
            foreach (var value in new object[] { series.Market, series.Unit.Name, first, last }) check.Parameters.Add(new NpgsqlParameter { Value = value });
            if (check.ExecuteScalar() is true) return false;
        }
        transaction.Save("direct");
        try
        {
            Import(connection, DirectCopySql, series, candles, fetchedAt);
            transaction.Release("direct");
            return true;
        }
        catch (PostgresException e) when (e.SqlState == UniqueViolation)
        {
            transaction.Rollback("direct");
            return false;
        }
    }

    private static void Import(NpgsqlConnection connection, string copySql, SeriesKey series, IReadOnlyList<Candle> candles, DateTime fetchedAt)
    {
        using var importer = connection.BeginBinaryImport(copySql);
        var unit = series.Unit.Name;
        foreach (var c in candles)
        {
            importer.StartRow();
            importer.Write(series.Market, NpgsqlDbType.Text);
            importer.Write(unit, NpgsqlDbType.Text);
            importer.Write(c.StartUtc.UtcDateTime, NpgsqlDbType.TimestampTz);
            importer.Write(c.StartKst, NpgsqlDbType.Text);
            importer.Write(c.OpeningPrice, NpgsqlDbType.Numeric);
            importer.Write(c.HighPrice, NpgsqlDbType.Numeric);
            importer.Write(c.LowPrice, NpgsqlDbType.Numeric);
            importer.Write(c.TradePrice, NpgsqlDbType.Numeric);
            importer.Write(c.Timestamp, NpgsqlDbType.Bigint);
            importer.Write(c.AccTradePrice, NpgsqlDbType.Numeric);
            importer.Write(c.AccTradeVolume, NpgsqlDbType.Numeric);
            WriteNullable(importer, c.PrevClosingPrice);
            WriteNullable(importer, c.ChangePrice);
            WriteNullable(importer, c.ChangeRate);
            importer.Write(fetchedAt, NpgsqlDbType.TimestampTz);
        }
        importer.Complete();
    }

    private static void WriteNullable(NpgsqlBinaryImporter importer, decimal? value)
    {
        if (value is { } v) importer.Write(v, NpgsqlDbType.Numeric);
        else importer.WriteNull();
    }

    private static void Execute(NpgsqlConnection connection, string sql, params object[] values)
    {
        using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values) command.Parameters.Add(new NpgsqlParameter { Value = value });
        command.ExecuteNonQuery();
    }
}
