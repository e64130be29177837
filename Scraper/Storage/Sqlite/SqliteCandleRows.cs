using Microsoft.Data.Sqlite;
using Scraper.Domain;

namespace Scraper.Storage.Sqlite;

/// <summary>A <see cref="Candle"/> as a row of the candles table, and back.</summary>
internal static class SqliteCandleRows
{
    /// <summary>The candle columns after (market, unit), in table order.</summary>
    public const string Columns =
        "candle_date_time_utc, candle_date_time_kst, opening_price, high_price, low_price, trade_price, timestamp, " +
        "candle_acc_trade_price, candle_acc_trade_volume, prev_closing_price, change_price, change_rate";

    /// <summary>Sets the parameters of <see cref="SqliteStatements.Upsert"/>.</summary>
    public static void BindUpsert(SqliteParameterCollection p, Candle candle, string unit, string fetchedAt)
    {
        p[0].Value = candle.Market;
        p[1].Value = unit;
        p[2].Value = StoredText.Instant(candle.StartUtc);
        p[3].Value = (object?)candle.StartKst ?? DBNull.Value;
        p[4].Value = StoredText.Decimal(candle.OpeningPrice);
        p[5].Value = StoredText.Decimal(candle.HighPrice);
        p[6].Value = StoredText.Decimal(candle.LowPrice);
        p[7].Value = StoredText.Decimal(candle.TradePrice);
        p[8].Value = candle.Timestamp;
        p[9].Value = StoredText.Decimal(candle.AccTradePrice);
        p[10].Value = StoredText.Decimal(candle.AccTradeVolume);
        p[11].Value = OrNull(candle.PrevClosingPrice);
        p[12].Value = OrNull(candle.ChangePrice);
        p[13].Value = OrNull(candle.ChangeRate);
        p[14].Value = fetchedAt;
    }

    /// <summary>Reads a row selected with <see cref="Columns"/>; a malformed value names the store, the series and the candle.</summary>
    public static Candle Read(SqliteDataReader reader, SeriesKey series, string path)
    {
        var start = reader.GetString(0);
        try
        {
            return new Candle(
                series.Market,
                series.Unit,
                StoredText.ParseInstant(start),
                reader.GetString(1),
                StoredText.ParseDecimal(reader.GetString(2)),
                StoredText.ParseDecimal(reader.GetString(3)),
                StoredText.ParseDecimal(reader.GetString(4)),
                StoredText.ParseDecimal(reader.GetString(5)),
                reader.GetInt64(6),
                StoredText.ParseDecimal(reader.GetString(7)),
                StoredText.ParseDecimal(reader.GetString(8)),
                NullableDecimal(reader, 9),
                NullableDecimal(reader, 10),
                NullableDecimal(reader, 11));
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or InvalidCastException)
        {
            throw new StoreException($"{path}: candle {series} at {start} holds a malformed value: {ex.Message}", ex);
        }
    }

    private static object OrNull(decimal? value) => value is { } v ? StoredText.Decimal(v) : DBNull.Value;

    private static decimal? NullableDecimal(SqliteDataReader reader, int column) =>
        reader.IsDBNull(column) ? null : StoredText.ParseDecimal(reader.GetString(column));
}
