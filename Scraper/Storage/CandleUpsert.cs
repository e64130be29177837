namespace Scraper.Storage;

/// <summary>The upsert rule every SQL store shares: the last answer for a candle wins, whole.</summary>
internal static class CandleUpsert
{
    /// <summary>The conflict clause of an INSERT into candles (SQLite and PostgreSQL spell it alike).</summary>
    public const string OnConflictReplace = """
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
        """;
}
