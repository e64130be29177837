using Microsoft.Data.Sqlite;
using Scraper.Domain;
using SQLitePCL;

namespace Scraper.Storage.Sqlite;

/// <summary>
/// The candle upsert as one statement prepared on the connection's own handle, its values bound by
/// position as UTF-8. Microsoft.Data.Sqlite binds every parameter by name on every execution (a name
/// lookup and a UTF-16 to UTF-8 copy each): for 15 values × 200 candles per response that was most of
/// the cost of storing a page. Runs inside the transaction the connection has open; the text stored
/// is exactly what <see cref="StoredText"/> writes.
/// </summary>
internal sealed class SqliteUpsertStatement : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;

    public SqliteUpsertStatement(SqliteConnection connection)
    {
        _connection = connection;
        var sql = $"""
            INSERT INTO candles (market, unit, {SqliteCandleRows.Columns}, fetched_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
            {CandleUpsert.OnConflictReplace}
            """;
        Check(raw.sqlite3_prepare_v2(connection.Handle, sql, out _statement));
    }

    /// <summary>Upserts candles of <paramref name="series"/> (checked by <see cref="StoreArguments"/>), all with the same fetched_at.</summary>
    public void Execute(SeriesKey series, IReadOnlyList<Candle> candles, string fetchedAt)
    {
        if (candles.Count == 0) return;
        Span<byte> buffer = stackalloc byte[64];
        BindText(1, series.Market);
        BindText(2, series.Unit.Name);
        BindText(15, fetchedAt);
        try
        {
            // A page comes newest first. Inserted oldest first, each row lands after the one before, so
            // SQLite appends to full pages instead of splitting pages in half (a third less file and WAL).
            var reversed = StrictlyNewestFirst(candles);
            for (var i = 0; i < candles.Count; i++)
            {
                var candle = candles[reversed ? candles.Count - 1 - i : i];
                BindInstant(3, candle.StartUtc, buffer);
                BindText(4, candle.StartKst);
                BindDecimal(5, candle.OpeningPrice, buffer);
                BindDecimal(6, candle.HighPrice, buffer);
                BindDecimal(7, candle.LowPrice, buffer);
                BindDecimal(8, candle.TradePrice, buffer);
                Check(raw.sqlite3_bind_int64(_statement, 9, candle.Timestamp));
                BindDecimal(10, candle.AccTradePrice, buffer);
                BindDecimal(11, candle.AccTradeVolume, buffer);
                BindDecimal(12, candle.PrevClosingPrice, buffer);
                BindDecimal(13, candle.ChangePrice, buffer);
                BindDecimal(14, candle.ChangeRate, buffer);
                var rc = raw.sqlite3_step(_statement);
                raw.sqlite3_reset(_statement);
                if (rc != raw.SQLITE_DONE) Check(rc);
            }
        }
        finally
        {
            // Strings bound are copied by SQLite (SQLITE_TRANSIENT); clearing only drops them early.
            raw.sqlite3_reset(_statement);
            raw.sqlite3_clear_bindings(_statement);
        }
    }

    /// <summary>Program steps run since the statement was prepared (SQLITE_STMTSTATUS_VM_STEP).</summary>
    public long ProgramSteps => raw.sqlite3_stmt_status(_statement, raw.SQLITE_STMTSTATUS_VM_STEP, 0);

    public void Dispose() => _statement.Dispose();

    private static bool StrictlyNewestFirst(IReadOnlyList<Candle> candles)
    {
        for (var i = 1; i < candles.Count; i++)
        {
            if (candles[i].StartUtc >= candles[i - 1].StartUtc) return false;
        }
        return candles.Count > 1;
    }

    private void BindText(int index, string value) => Check(raw.sqlite3_bind_text(_statement, index, value));

    private void BindInstant(int index, DateTimeOffset instant, Span<byte> buffer)
    {
        if (!SqliteUtf8Text.TryWriteInstant(instant, buffer, out var length))
        {
            BindText(index, StoredText.Instant(instant));
            return;
        }
        Check(raw.sqlite3_bind_text(_statement, index, buffer[..length]));
    }

    private void BindDecimal(int index, decimal? value, Span<byte> buffer)
    {
        if (value is not { } v)
        {
            Check(raw.sqlite3_bind_null(_statement, index));
            return;
        }
        if (!SqliteUtf8Text.TryWriteDecimal(v, buffer, out var length))
        {
            BindText(index, StoredText.Decimal(v));
            return;
        }
        Check(raw.sqlite3_bind_text(_statement, index, buffer[..length]));
    }

    private void Check(int rc)
    {
        if (rc is raw.SQLITE_OK or raw.SQLITE_DONE or raw.SQLITE_ROW) return;
        SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
        throw new SqliteException(raw.sqlite3_errstr(rc).utf8_to_string(), rc);
    }
}
