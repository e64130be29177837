using System.Text;
using Scraper.Domain;
using Scraper.Exchange;
using static Scraper.Tests.Exchange.ClientTestKit;

namespace Scraper.Tests.Exchange;

/// <summary>
/// The one-pass candle reader returns what the document reader returns — the same candles, or the
/// same description of the first problem — for pages as the exchange sends them and for every
/// oddity it leaves to the document reader.
/// </summary>
public sealed class UpbitJsonCandlesTests
{
    private static readonly CandleQuery DayQuery = new("KRW-BTC", CandleUnit.Day, To, 200);

    private const string Day = """
        {"market":"KRW-BTC","candle_date_time_utc":"2025-06-24T00:00:00","candle_date_time_kst":"2025-06-24T09:00:00",
         "opening_price":143000000,"high_price":145000000.5,"low_price":142000000,"trade_price":144000000,
         "timestamp":1750780000000,"candle_acc_trade_price":321098765432.10987654,"candle_acc_trade_volume":2243.12345678,
         "prev_closing_price":143000000.25,"change_price":-999999.75,"change_rate":0.0069930069,"converted_trade_price":null}
        """;

    public static TheoryData<string, string> Bodies() => new()
    {
        { "page", Page(200) },
        { "empty page", "[]" },
        { "fields in another order, unknown ones nested", Array("{\"unit\":1,\"x\":{\"a\":[1,{\"b\":null}]},\"timestamp\":1750740959123,\"candle_acc_trade_volume\":0.86123456,\"candle_acc_trade_price\":123456789.12345678,\"trade_price\":1,\"low_price\":1,\"high_price\":1,\"opening_price\":1,\"candle_date_time_kst\":\"k\",\"candle_date_time_utc\":\"2025-06-24T04:55:00\",\"market\":\"KRW-BTC\"}") },
        { "a field twice", Array(MinuteCandle(extra: ",\"trade_price\":7.5")) },
        { "a wrong market then the right one", Array(MinuteCandle(market: "KRW-ETH", extra: ",\"market\":\"KRW-BTC\"")) },
        { "instant with Z", Array(MinuteCandle(start: "2025-06-24T04:55:00Z")) },
        { "exponent", Array(MinuteCandle(tradePrice: "1.4328E+8")) },
        { "too many digits for a decimal", Array(MinuteCandle(tradePrice: "1e40")) },
        { "decimal as text", Array(MinuteCandle(tradePrice: "\"143280000.5\"")) },
        { "null price", Array(MinuteCandle(tradePrice: "null")) },
        { "price missing", Array(MinuteCandle().Replace("\"opening_price\":143250000.0,", "", StringComparison.Ordinal)) },
        { "wrong market", Array(MinuteCandle(market: "KRW-ETH")) },
        { "escaped market", Array(MinuteCandle(market: "KRW\\u002DBTC")) },
        { "escaped kst", Array(MinuteCandle().Replace("2025-06-24T13:55:00", "2025-06-24T13\\u003A55:00", StringComparison.Ordinal)) },
        { "kst a number", Array(MinuteCandle().Replace("\"2025-06-24T13:55:00\"", "5", StringComparison.Ordinal)) },
        { "unaligned", Array(MinuteCandle(start: "2025-06-24T04:55:30")) },
        { "no such day", Array(MinuteCandle(start: "2025-02-30T04:55:00")) },
        { "short instant", Array(MinuteCandle(start: "2025-6-24T04:55:00")) },
        { "other unit", Array(MinuteCandle(extra: ",\"unit\":3")) },
        { "unit as text", Array(MinuteCandle().Replace("\"unit\":1", "\"unit\":\"1\"", StringComparison.Ordinal)) },
        { "timestamp fractional", Array(MinuteCandle().Replace("1750740959123", "1750740959123.5", StringComparison.Ordinal)) },
        { "item not an object", "[1]" },
        { "error object", "{\"error\":{\"name\":\"x\",\"message\":\"y\"}}" },
        { "trailing text", Page(2) + "x" },
        { "cut short", Page(2)[..^5] },
        { "empty body", "" },
        { "day page", $"[{Day},{Day.Replace("2025-06-24T00", "2025-06-25T00", StringComparison.Ordinal)}]" },
        { "day without change_rate", $"[{Day.Replace("\"change_rate\"", "\"rate\"", StringComparison.Ordinal)}]" },
        { "white space everywhere", " \r\n\t[ " + MinuteCandle().Replace(",", " ,\n\t", StringComparison.Ordinal).Replace(":", " : ", StringComparison.Ordinal).Replace("{", "{ ", StringComparison.Ordinal).Replace("}", " }", StringComparison.Ordinal) + " , " + MinuteCandle(start: "2025-06-24T04:54:00") + " ]\n " },
        { "unknown fields of every kind", Array(MinuteCandle(extra: ",\"a\":null,\"b\":true,\"c\":false,\"d\":\"x\",\"e\":-0.5,\"f\":1e5,\"g\":[],\"h\":{}")) },
        { "zero and negative zero prices", Array(MinuteCandle(tradePrice: "0", extra: ",\"opening_price\":-0.0,\"low_price\":0.00000000")) },
        { "a price of 20 digits and one of 29", Array(MinuteCandle(tradePrice: "12345678901234567890.5", extra: ",\"low_price\":0.1234567890123456789012345678")) },
        { "timestamp negative", Array(MinuteCandle().Replace("1750740959123", "-1750740959123", StringComparison.Ordinal)) },
        { "timestamp too long for a long", Array(MinuteCandle().Replace("1750740959123", "17507409591231750740959123", StringComparison.Ordinal)) },
        { "timestamp of 19 digits", Array(MinuteCandle().Replace("1750740959123", "1750740959123456789", StringComparison.Ordinal)) },
        { "timestamp with exponent", Array(MinuteCandle().Replace("1750740959123", "1.750740959123E12", StringComparison.Ordinal)) },
        { "kst not ascii", Array(MinuteCandle().Replace("2025-06-24T13:55:00", "2025-06-24T13:55:00 한국", StringComparison.Ordinal)) },
        { "a control character in a string", Array(MinuteCandle().Replace("2025-06-24T13:55:00", "2025-06-24T13:55:00\t", StringComparison.Ordinal)) },
        { "a leading zero", Array(MinuteCandle(tradePrice: "0143280000.0")) },
        { "a point without digits", Array(MinuteCandle(tradePrice: "143280000.")) },
        { "a bare minus", Array(MinuteCandle(tradePrice: "-")) },
        { "a word cut short", Array(MinuteCandle(extra: ",\"a\":nul")) },
        { "a missing comma", Array(MinuteCandle()).Replace(",\"timestamp\"", " \"timestamp\"", StringComparison.Ordinal) },
        { "a trailing comma in the object", Array(MinuteCandle(extra: ",")) },
        { "a trailing comma in the array", "[" + MinuteCandle() + ",]" },
        { "an empty object", "[{}]" },
        { "day unaligned", $"[{Day.Replace("2025-06-24T00:00", "2025-06-24T01:00", StringComparison.Ordinal)}]" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public void Reads_as_the_document_reader_does(string what, string text)
    {
        var body = Encoding.UTF8.GetBytes(text);
        var query = text.Contains("prev_closing_price", StringComparison.Ordinal) ? DayQuery : MinuteQuery;

        var error = UpbitJsonCandles.Read(body, query, out var candles);
        var expectedError = UpbitJson.ReadArray(body, e => UpbitJson.ReadCandle(e, query), out var expected);

        Assert.True(expectedError == error, $"{what}: '{error}' instead of '{expectedError}'");
        Assert.Equal(expected, candles);
        // Scale too (decimal equality ignores it): 143250000.0 stays "143250000.0".
        Assert.Equal(expected.Select(c => $"{c.OpeningPrice} {c.TradePrice} {c.ChangePrice}"), candles.Select(c => $"{c.OpeningPrice} {c.TradePrice} {c.ChangePrice}"));
    }

    [Fact]
    public void A_page_costs_its_candles_and_their_kst_text_and_little_more()
    {
        var body = Encoding.UTF8.GetBytes(Page(200));
        UpbitJsonCandles.Read(body, MinuteQuery, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = UpbitJsonCandles.Read(body, MinuteQuery, out var candles);
        var perCandle = (GC.GetAllocatedBytesForCurrentThread() - before) / 200.0;

        Assert.Null(error);
        Assert.Equal(200, candles.Count);
        Assert.True(perCandle < 360, $"{perCandle:0} bytes per candle");
    }

    /// <summary>A page as the exchange sends it: newest first, one minute apart.</summary>
    private static string Page(int count) =>
        Array([.. Enumerable.Range(0, count).Select(i => MinuteCandle(
            start: To.AddMinutes(-1 - i).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture),
            tradePrice: (143280000.5m + i).ToString(System.Globalization.CultureInfo.InvariantCulture)))]);
}
