using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Scraper.Domain;

namespace Scraper.Tests.Storage;

internal static class TestCandles
{
    public static readonly DateTimeOffset T0 = new(2025, 6, 24, 0, 0, 0, TimeSpan.Zero);

    public static readonly SeriesKey BtcMinute = new("KRW-BTC", CandleUnit.FromMinutes(1));

    public static DateTimeOffset At(int minutes) => T0.AddMinutes(minutes);

    public static Candle Minute(DateTimeOffset start, decimal price = 96_000_000m, string market = "KRW-BTC", int unit = 1) =>
        new(
            market,
            CandleUnit.FromMinutes(unit),
            start,
            start.ToOffset(TimeSpan.FromHours(9)).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture),
            price,
            price + 1000m,
            price - 1000m,
            price + 500m,
            start.ToUnixTimeMilliseconds() + 59_000,
            123_456_789.12345m,
            1.28612736m);

    /// <summary>Candles for every minute in [from, from + count).</summary>
    public static List<Candle> Minutes(int from, int count, decimal price = 96_000_000m) =>
        Enumerable.Range(from, count).Select(i => Minute(At(i), price + i)).ToList();

    public static TimeRange Range(int fromMinute, int toMinute) => new(At(fromMinute), At(toMinute));

    public static readonly SeriesKey BtcDay = new("KRW-BTC", CandleUnit.Day);

    /// <summary>A price with 8 decimals, one with a trailing zero, and a volume of 20 significant digits.</summary>
    public static Candle ExactDecimals => Minute(At(0)) with
    {
        OpeningPrice = 0.03412345m,
        TradePrice = 96123000.0m,
        AccTradeVolume = 12345678901.234567890m, // 20 significant digits, trailing zero kept
    };

    /// <summary>A day candle with every day-only field.</summary>
    public static Candle FirstDay => new("KRW-BTC", CandleUnit.Day, T0, "2025-06-24T09:00:00", 1m, 2m, 0.5m, 1.5m, 1, 10m, 20m, 1.25m, 0.25m, 0.2m);

    /// <summary>The next day, with two day-only fields absent.</summary>
    public static Candle SecondDay => FirstDay with { StartUtc = T0.AddDays(1), StartKst = "2025-06-25T09:00:00", ChangePrice = null, ChangeRate = null };

    /// <summary>The minute at 5 as first seen while it was still forming.</summary>
    public static Candle Forming => Minute(At(5), 100m) with { TradePrice = 100m, AccTradeVolume = 1m, Timestamp = 1 };

    /// <summary>The same minute with its final values.</summary>
    public static Candle Closed => Forming with { TradePrice = 105m, HighPrice = 110m, AccTradeVolume = 7.5m, Timestamp = 2 };

    /// <summary>Minutes 10 to 209; the 151st violates a NOT NULL column, so a store fails after 150 upserts.</summary>
    public static List<Candle> FailingAfter150Candles()
    {
        var response = Minutes(10, 200);
        response[150] = response[150] with { StartKst = null! };
        return response;
    }
}

internal static class RawDb
{
    public static SqliteConnection Open(string path, SqliteOpenMode mode = SqliteOpenMode.ReadWrite)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = mode, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public static object? Scalar(string path, string sql)
    {
        using var connection = Open(path, SqliteOpenMode.ReadOnly);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public static void Execute(string path, string sql)
    {
        using var connection = Open(path, SqliteOpenMode.ReadWriteCreate);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Every row of a query, each row as its column values joined by '|'.</summary>
    public static List<string> Rows(string path, string sql)
    {
        using var connection = Open(path, SqliteOpenMode.ReadOnly);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            var values = new string[reader.FieldCount];
            for (var i = 0; i < values.Length; i++)
                values[i] = reader.IsDBNull(i) ? "NULL" : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture)!;
            rows.Add(string.Join('|', values));
        }
        return rows;
    }

    public static string Hash(string path) => Convert.ToHexString(SHA256.HashData(System.IO.File.ReadAllBytes(path)));
}
