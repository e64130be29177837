using System.Globalization;
using Scraper.Domain;
using Scraper.Exchange;

namespace Scraper.Tests.Exchange;

/// <summary>Shared arrangements for the client tests: client factory and canned exchange bodies.</summary>
internal static class ClientTestKit
{
    /// <summary>A short budget keeps the timeout tests fast.</summary>
    public static readonly TimeSpan TestTimeout = TimeSpan.FromMilliseconds(300);

    public static readonly DateTimeOffset To = new(2025, 6, 24, 4, 56, 0, TimeSpan.Zero);

    public static readonly CandleQuery MinuteQuery = new("KRW-BTC", CandleUnit.FromMinutes(1), To, 200);

    public const string MinuteQueryString = "market=KRW-BTC&to=2025-06-24T04%3A56%3A00Z&count=200";

    public static UpbitClient NewClient(LoopbackServer server, UpbitCredentials? credentials = null, TimeSpan? timeout = null, long? maxBytes = null) =>
        NewClient(server.BaseUrl, credentials, timeout, maxBytes);

    public static UpbitClient NewClient(Uri baseUrl, UpbitCredentials? credentials = null, TimeSpan? timeout = null, long? maxBytes = null) =>
        new(new UpbitClientOptions
        {
            BaseUrl = baseUrl,
            Credentials = credentials,
            RequestTimeout = timeout ?? TimeSpan.FromSeconds(5),
            MaxResponseBytes = maxBytes ?? UpbitClientOptions.DefaultMaxResponseBytes,
            UserAgent = "scraper-tests/1",
        }, TimeProvider.System);

    /// <summary>One minute candle as the exchange writes it; <paramref name="extra"/> is spliced in verbatim.</summary>
    public static string MinuteCandle(string start = "2025-06-24T04:55:00", string market = "KRW-BTC", string tradePrice = "143280000.0", string extra = "") =>
        "{" + string.Create(CultureInfo.InvariantCulture,
            $"\"market\":\"{market}\",\"candle_date_time_utc\":\"{start}\",\"candle_date_time_kst\":\"2025-06-24T13:55:00\"," +
            $"\"opening_price\":143250000.0,\"high_price\":143300000.0,\"low_price\":143200000.0,\"trade_price\":{tradePrice}," +
            $"\"timestamp\":1750740959123,\"candle_acc_trade_price\":123456789.12345678,\"candle_acc_trade_volume\":0.86123456,\"unit\":1{extra}") + "}";

    public static string Array(params string[] items) => "[" + string.Join(",", items) + "]";
}
