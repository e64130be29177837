using Npgsql;
using NpgsqlTypes;
using Scraper.Domain;
using Scraper.Storage.Copy;

namespace Scraper.Storage.Postgres;

/// <summary>
/// The bulk path into PostgreSQL: a block of candles goes by binary COPY into a session-local
/// staging table, then one INSERT … SELECT upserts it into candles with the same conflict rule as
/// every other write (<see cref="CandleUpsert"/>), and the block's coverage is merged, all in one
/// transaction. Writes through the store's own pool, so an unavailable server is waited out as
/// for any other call.
/// </summary>
public sealed class PostgresBulkCopy(PostgresCandleStore store, TimeProvider time) : ICandleBulkWriter
{
    private const string Staging = "candles_copy_staging";

    // Temporary, so every session has its own and nothing is left behind; emptied at each commit.
    private const string CreateStagingSql =
        $"CREATE TEMP TABLE IF NOT EXISTS {Staging} (LIKE candles INCLUDING DEFAULTS) ON COMMIT DELETE ROWS";

    private const string CopySql =
        $"COPY {Staging} (market, unit, {PostgresCandleStore.CandleColumns}, fetched_at) FROM STDIN (FORMAT BINARY)";

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
            if (unique.Count > 0)
            {
                Execute(connection, CreateStagingSql);
                Import(connection, series, unique, fetchedAt);
                Execute(connection, UpsertSql);
            }
            if (covered is { IsEmpty: false } range)
                Execute(connection, PostgresCandleStore.MergeCoverageSql, series.Market, series.Unit.Name, range.Start.UtcDateTime, range.End.UtcDateTime);
            transaction.Commit();
        });
    }

    private static void Import(NpgsqlConnection connection, SeriesKey series, IReadOnlyList<Candle> candles, DateTime fetchedAt)
    {
        using var importer = connection.BeginBinaryImport(CopySql);
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
