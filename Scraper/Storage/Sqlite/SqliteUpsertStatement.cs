using System.Text;
using Microsoft.Data.Sqlite;
using Scraper.Domain;
using SQLitePCL;

namespace Scraper.Storage.Sqlite;

/// <summary>
/// The candle upsert as one statement prepared on the connection's own handle, its values bound by
/// position as UTF-8. Microsoft.Data.Sqlite binds every parameter by name on every execution (a name
/// lookup and a UTF-16 to UTF-8 copy each): for 15 values × 200 candles per response that was most of
/// the cost of storing a page. The values are written into buffers on this method's stack and bound
/// where they are (<see cref="SqliteNative"/>), so SQLite does not copy each one into its own heap.
/// Runs inside the transaction the connection has open; the text stored is exactly what
/// <see cref="StoredText"/> writes.
/// </summary>
internal sealed class SqliteUpsertStatement : IDisposable
{
    /// <summary>Room for a row's ten formatted values and its KST instant (48 bytes at most each, as the formatters need).</summary>
    private const int RowBytes = 12 * ValueBytes;
    private const int ValueBytes = 48;
    private const int SeriesBytes = 256;

    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;
    private readonly nint _handle;

    public SqliteUpsertStatement(SqliteConnection connection)
    {
        _connection = connection;
        var sql = $"""
            INSERT INTO candles (market, unit, {SqliteCandleRows.Columns}, fetched_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
            {CandleUpsert.OnConflictReplace}
            """;
        Check(raw.sqlite3_prepare_v2(connection.Handle, sql, out _statement));
        // Finalized only by Dispose, so the pointer stays valid as long as this object is used.
        _handle = _statement.DangerousGetHandle();
    }

    /// <summary>Upserts candles of <paramref name="series"/> (checked by <see cref="StoreArguments"/>), all with the same fetched_at.</summary>
    public void Execute(SeriesKey series, IReadOnlyList<Candle> candles, string fetchedAt)
    {
        if (candles.Count == 0) return;
        // Both buffers must outlive every step: values are bound SQLITE_STATIC from them.
        Span<byte> head = stackalloc byte[SeriesBytes];
        Span<byte> row = stackalloc byte[RowBytes];
        try
        {
            var used = BindText(1, series.Market, head, 0);
            used = BindText(2, series.Unit.Name, head, used);
            BindText(15, fetchedAt, head, used);
            // A page comes newest first. Inserted oldest first, each row lands after the one before, so
            // SQLite appends to full pages instead of splitting pages in half (a third less file and WAL).
            var reversed = StrictlyNewestFirst(candles);
            for (var i = 0; i < candles.Count; i++)
            {
                var candle = candles[reversed ? candles.Count - 1 - i : i];
                BindInstant(3, candle.StartUtc, row[..ValueBytes]);
                BindText(4, candle.StartKst, row.Slice(ValueBytes, ValueBytes), 0);
                BindDecimal(5, candle.OpeningPrice, row.Slice(2 * ValueBytes, ValueBytes));
                BindDecimal(6, candle.HighPrice, row.Slice(3 * ValueBytes, ValueBytes));
                BindDecimal(7, candle.LowPrice, row.Slice(4 * ValueBytes, ValueBytes));
                BindDecimal(8, candle.TradePrice, row.Slice(5 * ValueBytes, ValueBytes));
                Check(SqliteNative.BindInt64(_handle, 9, candle.Timestamp));
                BindDecimal(10, candle.AccTradePrice, row.Slice(6 * ValueBytes, ValueBytes));
                BindDecimal(11, candle.AccTradeVolume, row.Slice(7 * ValueBytes, ValueBytes));
                BindDecimal(12, candle.PrevClosingPrice, row.Slice(8 * ValueBytes, ValueBytes));
                BindDecimal(13, candle.ChangePrice, row.Slice(9 * ValueBytes, ValueBytes));
                BindDecimal(14, candle.ChangeRate, row.Slice(10 * ValueBytes, ValueBytes));
                var rc = SqliteNative.Step(_handle);
                SqliteNative.Reset(_handle);
                if (rc != raw.SQLITE_DONE) Check(rc);
            }
        }
        finally
        {
            // Nothing may stay bound to the buffers once they are gone.
            SqliteNative.Reset(_handle);
            SqliteNative.ClearBindings(_handle);
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

    /// <summary>Binds <paramref name="value"/> from <paramref name="buffer"/> at <paramref name="offset"/> when it fits (else a copy); returns the offset after it.</summary>
    private int BindText(int index, string? value, Span<byte> buffer, int offset)
    {
        // A null that slipped past the types must reach the NOT NULL constraint, not become empty text.
        if (value is null)
        {
            Check(SqliteNative.BindNull(_handle, index));
            return offset;
        }
        // The byte after the text stays in the buffer, so even empty text has an address (not NULL).
        if (Encoding.UTF8.TryGetBytes(value, buffer[offset..^1], out var length))
        {
            Check(SqliteNative.BindText(_handle, index, ref buffer[offset], length, SqliteNative.Static));
            return offset + length;
        }
        var copy = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        length = Encoding.UTF8.GetBytes(value, copy);
        Check(SqliteNative.BindText(_handle, index, ref copy[0], length, SqliteNative.Transient));
        return offset;
    }

    private void BindInstant(int index, DateTimeOffset instant, Span<byte> buffer)
    {
        if (!SqliteUtf8Text.TryWriteInstant(instant, buffer, out var length))
        {
            BindText(index, StoredText.Instant(instant), buffer, 0);
            return;
        }
        Check(SqliteNative.BindText(_handle, index, ref buffer[0], length, SqliteNative.Static));
    }

    private void BindDecimal(int index, decimal? value, Span<byte> buffer)
    {
        if (value is not { } v)
        {
            Check(SqliteNative.BindNull(_handle, index));
            return;
        }
        if (!SqliteUtf8Text.TryWriteDecimal(v, buffer, out var length))
        {
            BindText(index, StoredText.Decimal(v), buffer, 0);
            return;
        }
        Check(SqliteNative.BindText(_handle, index, ref buffer[0], length, SqliteNative.Static));
    }

    private void Check(int rc)
    {
        if (rc is raw.SQLITE_OK or raw.SQLITE_DONE or raw.SQLITE_ROW) return;
        SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
        throw new SqliteException(raw.sqlite3_errstr(rc).utf8_to_string(), rc);
    }
}
