using System.Globalization;
using Scraper.Domain;
using Scraper.Storage;
using Scraper.Storage.Sqlite;

namespace Scraper.Tests.Hosting;

/// <summary>SQLite stores to copy from, written through the real store as the daemon writes them.</summary>
internal static class CopySourceData
{
    public static readonly DateTimeOffset T0 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// KRW-BTC/1 with two covered runs, a gap between them and an uncovered newest candle; KRW-ETH/day with
    /// every day-only field (some null); KRW-XRP/5 covered without a candle (a period without trades).
    /// </summary>
    public static void WriteVaried(string path, int minutes)
    {
        using var store = SqliteCandleStore.Open(path, TimeProvider.System);
        var btc = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(1));
        var half = minutes / 2;
        Save(store, btc, 0, half, covered: true);
        Save(store, btc, half + 100, minutes, covered: true);
        store.SaveResponse(btc, [Minute(btc, minutes)], null);
        var eth = new SeriesKey("KRW-ETH", CandleUnit.Day);
        var days = Enumerable.Range(0, 100).Select(d => new Candle("KRW-ETH", CandleUnit.Day, T0.AddDays(d), KstText(T0.AddDays(d)),
            4_000_000m + d, 4_100_000.5m + d, 3_900_000m, 4_050_000.0m + d, T0.AddDays(d + 1).ToUnixTimeMilliseconds() - 1,
            12_345_678_901.234567890m, 0.03412345m * (d + 1), d % 3 == 0 ? null : 4_000_000m, d % 2 == 0 ? null : -1.5m, d % 2 == 0 ? null : -0.0000375m)).ToList();
        store.SaveResponse(eth, days, new TimeRange(T0, T0.AddDays(100)));
        store.SaveResponse(new SeriesKey("KRW-XRP", CandleUnit.FromMinutes(5)), [], new TimeRange(T0, T0.AddHours(1)));
    }

    /// <summary><paramref name="series"/>'s minutes [from, to), in responses of 10,000 candles each with its coverage.</summary>
    public static void Save(ICandleStore store, SeriesKey series, int from, int to, bool covered)
    {
        for (var start = from; start < to; start += 10_000)
        {
            var end = Math.Min(to, start + 10_000);
            var candles = Enumerable.Range(start, end - start).Select(i => Minute(series, i)).ToList();
            store.SaveResponse(series, candles, covered ? new TimeRange(T0.AddMinutes(start), T0.AddMinutes(end)) : null);
        }
    }

    public static Candle Minute(SeriesKey series, int i)
    {
        var start = T0.AddMinutes(i * series.Unit.Interval.TotalMinutes);
        var price = 96_000_000m + i % 5000 + 0.12345678m * (i % 7);
        return new Candle(series.Market, series.Unit, start, KstText(start), price, price + 1000m, price - 1000.5m, price + 500.0m,
            start.ToUnixTimeMilliseconds() + 59_000, 123_456_789.12345m + i, 0.00012345m * (i % 97 + 1));
    }

    private static string KstText(DateTimeOffset start) => start.ToOffset(TimeSpan.FromHours(9)).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
}
