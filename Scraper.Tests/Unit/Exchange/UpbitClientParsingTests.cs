using Scraper.Domain;
using Scraper.Exchange;
using static Scraper.Tests.Exchange.ClientTestKit;

namespace Scraper.Tests.Exchange;

/// <summary>Bodies become exact decimals: every digit the exchange sent survives.</summary>
public sealed class UpbitClientParsingTests
{
    private static async Task<ExchangeResponse<IReadOnlyList<Candle>>> CandlesAsync(CandleQuery query, string body)
    {
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, body));
        using var client = NewClient(server);
        return await client.GetCandlesAsync(query, CancellationToken.None);
    }

    [Fact]
    public async Task MinuteCandle_KeepsEveryDigit()
    {
        var body = Array(MinuteCandle(tradePrice: "98765432109876.123456789012"));

        var candle = Assert.Single((await CandlesAsync(MinuteQuery, body)).Value!);

        Assert.Equal(143250000.0m, candle.OpeningPrice);
        Assert.Equal(143300000.0m, candle.HighPrice);
        Assert.Equal(143200000.0m, candle.LowPrice);
        Assert.Equal(98765432109876.123456789012m, candle.TradePrice);
        Assert.Equal(123456789.12345678m, candle.AccTradePrice);
        Assert.Equal(0.86123456m, candle.AccTradeVolume);
        // Scale is kept too: a double round trip would lose both the digits and the trailing zero.
        Assert.Equal("143250000.0", candle.OpeningPrice.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.NotEqual((decimal)(double)98765432109876.123456789012m, candle.TradePrice);
    }

    [Fact]
    public async Task NumbersInExponentOrStringForm_AreExact()
    {
        var body = Array(MinuteCandle(tradePrice: "1.4328E+8").Replace("\"candle_acc_trade_volume\":0.86123456", "\"candle_acc_trade_volume\":\"1.5e-7\"", StringComparison.Ordinal));

        var candle = Assert.Single((await CandlesAsync(MinuteQuery, body)).Value!);

        Assert.Equal(143280000m, candle.TradePrice);
        Assert.Equal(0.00000015m, candle.AccTradeVolume);
    }

    [Fact]
    public async Task DayCandle_ReadsTheDayFields()
    {
        const string body = """
            [{"market":"KRW-BTC","candle_date_time_utc":"2025-06-24T00:00:00","candle_date_time_kst":"2025-06-24T09:00:00",
              "opening_price":143000000,"high_price":145000000.5,"low_price":142000000,"trade_price":144000000,
              "timestamp":1750780000000,"candle_acc_trade_price":321098765432.10987654,"candle_acc_trade_volume":2243.12345678,
              "prev_closing_price":143000000.25,"change_price":999999.75,"change_rate":0.0069930069,"converted_trade_price":null}]
            """;

        var candle = Assert.Single((await CandlesAsync(new CandleQuery("KRW-BTC", CandleUnit.Day, To, 1), body)).Value!);

        Assert.Equal(CandleUnit.Day, candle.Unit);
        Assert.Equal(new DateTimeOffset(2025, 6, 24, 0, 0, 0, TimeSpan.Zero), candle.StartUtc);
        Assert.Equal(new DateTimeOffset(2025, 6, 25, 0, 0, 0, TimeSpan.Zero), candle.EndUtc);
        Assert.Equal(145000000.5m, candle.HighPrice);
        Assert.Equal(321098765432.10987654m, candle.AccTradePrice);
        Assert.Equal(143000000.25m, candle.PrevClosingPrice);
        Assert.Equal(999999.75m, candle.ChangePrice);
        Assert.Equal(0.0069930069m, candle.ChangeRate);
    }

    [Theory]
    [InlineData("prev_closing_price")]
    [InlineData("change_price")]
    [InlineData("change_rate")]
    public async Task DayCandle_WithoutADayField_IsMalformed(string field)
    {
        var fields = new Dictionary<string, string>
        {
            ["market"] = "\"KRW-BTC\"", ["candle_date_time_utc"] = "\"2025-06-24T00:00:00\"", ["candle_date_time_kst"] = "\"2025-06-24T09:00:00\"",
            ["opening_price"] = "1", ["high_price"] = "1", ["low_price"] = "1", ["trade_price"] = "1", ["timestamp"] = "1",
            ["candle_acc_trade_price"] = "1", ["candle_acc_trade_volume"] = "1", ["prev_closing_price"] = "1", ["change_price"] = "0", ["change_rate"] = "0",
        };
        fields.Remove(field);
        var body = "[{" + string.Join(",", fields.Select(f => $"\"{f.Key}\":{f.Value}")) + "}]";

        var response = await CandlesAsync(new CandleQuery("KRW-BTC", CandleUnit.Day, To, 1), body);

        Assert.Equal("malformed_body", response.FailureReason);
        Assert.Contains($"{field} is missing", response.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2025-06-24T04:00:00", true)]
    [InlineData("2025-06-24T08:00:00", true)]
    [InlineData("2025-06-24T05:00:00", false)]
    [InlineData("2025-06-24T04:01:00", false)]
    public async Task FourHourCandles_MustStartOnAFourHourBoundary(string start, bool valid)
    {
        var query = new CandleQuery("KRW-BTC", CandleUnit.FromMinutes(240), To, 1);
        var body = Array(MinuteCandle(start).Replace("\"unit\":1", "\"unit\":240", StringComparison.Ordinal));

        var response = await CandlesAsync(query, body);

        Assert.Equal(valid ? ExchangeOutcome.Success : ExchangeOutcome.Transient, response.Outcome);
        if (!valid) Assert.Contains("not aligned to unit 240", response.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tickers_AreParsedExactly_AndMustBeOnesAskedFor()
    {
        const string ticker = """
            {"market":"KRW-BTC","trade_date":"20250624","trade_price":143280000.0,"opening_price":143000000,"high_price":145000000,
             "low_price":142000000,"prev_closing_price":143000000.0,"change":"RISE","change_price":280000,"change_rate":0.0019580419,
             "acc_trade_price_24h":456789012345.12345678,"acc_trade_volume_24h":3187.12345678,"timestamp":1750740959123}
            """;
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, "[" + ticker + "]"));
        using var client = NewClient(server);

        var asked = await client.GetTickersAsync(["KRW-BTC", "KRW-ETH"], CancellationToken.None);
        var notAsked = await client.GetTickersAsync(["KRW-ETH"], CancellationToken.None);

        Assert.Equal(ExchangeOutcome.Success, asked.Outcome);
        Assert.Equal(new Ticker("KRW-BTC", 143280000.0m, 143000000m, 145000000m, 142000000m, 143000000.0m, 0.0019580419m,
            3187.12345678m, 456789012345.12345678m, 1750740959123L), Assert.Single(asked.Value!));
        Assert.Equal("malformed_body", notAsked.FailureReason);
        Assert.Contains("market 'KRW-BTC' was not requested", notAsked.Detail, StringComparison.Ordinal);
    }
}
