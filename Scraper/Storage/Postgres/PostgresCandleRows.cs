using Npgsql;
using NpgsqlTypes;
using Scraper.Domain;

namespace Scraper.Storage.Postgres;

/// <summary><see cref="Candle"/>s as rows of the PostgreSQL candles table, and back.</summary>
internal static class PostgresCandleRows
{
    // One statement for any number of candles, of any series: they travel as one array per column.
    // Its text and parameter types never change, so Npgsql's auto-prepare reuses one prepared statement.
    private const string UpsertSql =
        $"""
        INSERT INTO candles (market, unit, {PostgresCandleStore.CandleColumns}, fetched_at)
        SELECT u.*, $15 FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::numeric[], $6::numeric[], $7::numeric[],
                                    $8::numeric[], $9::bigint[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], $14::numeric[]) AS u
        {CandleUpsert.OnConflictReplace}
        """;

    /// <summary>
    /// The last candle of each (market, unit, start), in first-seen order: ON CONFLICT may touch a row
    /// once per statement, and the last one wins as it would with one upsert each.
    /// </summary>
    public static IReadOnlyList<Candle> LastOfEach(IReadOnlyList<Candle> candles)
    {
        if (candles.Count < 2) return candles;
        var last = new Dictionary<(string, CandleUnit, DateTimeOffset), Candle>(candles.Count);
        foreach (var c in candles) last[(c.Market, c.Unit, c.StartUtc)] = c;
        return last.Count == candles.Count ? candles : [.. last.Values];
    }

    /// <summary>The upsert of <paramref name="candles"/> (unique by key), each into its own market and unit.</summary>
    public static NpgsqlBatchCommand Upsert(IReadOnlyList<Candle> candles, DateTime fetchedAt)
    {
        var n = candles.Count;
        var markets = new string[n];
        var units = new string[n];
        var starts = new DateTime[n];
        var kst = new string[n];
        var prices = new decimal[4][];
        for (var k = 0; k < prices.Length; k++) prices[k] = new decimal[n];
        var timestamps = new long[n];
        var accPrice = new decimal[n];
        var accVolume = new decimal[n];
        var optional = new decimal?[3][];
        for (var k = 0; k < optional.Length; k++) optional[k] = new decimal?[n];
        for (var i = 0; i < n; i++)
        {
            var c = candles[i];
            markets[i] = c.Market;
            units[i] = c.Unit.Name;
            starts[i] = c.StartUtc.UtcDateTime;
            kst[i] = c.StartKst;
            (prices[0][i], prices[1][i], prices[2][i], prices[3][i]) = (c.OpeningPrice, c.HighPrice, c.LowPrice, c.TradePrice);
            timestamps[i] = c.Timestamp;
            accPrice[i] = c.AccTradePrice;
            accVolume[i] = c.AccTradeVolume;
            (optional[0][i], optional[1][i], optional[2][i]) = (c.PrevClosingPrice, c.ChangePrice, c.ChangeRate);
        }
        var statement = new NpgsqlBatchCommand(UpsertSql);
        var p = statement.Parameters;
        foreach (var column in new[] { markets, units })
            p.Add(new NpgsqlParameter<string[]> { TypedValue = column, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter<DateTime[]> { TypedValue = starts, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        p.Add(new NpgsqlParameter<string[]> { TypedValue = kst, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        foreach (var column in prices) p.Add(Numeric(column));
        p.Add(new NpgsqlParameter<long[]> { TypedValue = timestamps, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        p.Add(Numeric(accPrice));
        p.Add(Numeric(accVolume));
        foreach (var column in optional)
            p.Add(new NpgsqlParameter<decimal?[]> { TypedValue = column, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Numeric });
        p.Add(new NpgsqlParameter<DateTime> { TypedValue = fetchedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return statement;
    }

    /// <summary>Reads a row selected with <see cref="PostgresCandleStore.CandleColumns"/>.</summary>
    public static Candle Read(SeriesKey series, NpgsqlDataReader reader) =>
        new(
            series.Market,
            series.Unit,
            Instant(reader.GetDateTime(0)),
            reader.GetString(1),
            reader.GetDecimal(2),
            reader.GetDecimal(3),
            reader.GetDecimal(4),
            reader.GetDecimal(5),
            reader.GetInt64(6),
            reader.GetDecimal(7),
            reader.GetDecimal(8),
            reader.IsDBNull(9) ? null : reader.GetDecimal(9),
            reader.IsDBNull(10) ? null : reader.GetDecimal(10),
            reader.IsDBNull(11) ? null : reader.GetDecimal(11));

    public static DateTimeOffset Instant(DateTime utc) => new(DateTime.SpecifyKind(utc, DateTimeKind.Utc));

    private static NpgsqlParameter<decimal[]> Numeric(decimal[] column) =>
        new() { TypedValue = column, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Numeric };
}
