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

    private static decimal? NullableDecimal(SqliteDataReader reader, int column) =>
        reader.IsDBNull(column) ? null : StoredText.ParseDecimal(reader.GetString(column));
}
