using System.Text;
using Scraper.Domain;
using Scraper.Exchange.Streaming;
using Xunit;

namespace Scraper.Tests.Exchange.Streaming;

public class StreamMessageReaderTests
{
    private static readonly DateTimeOffset At = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private const string CandleJson = """
        {"type":"candle.15m","code":"KRW-BTC","candle_date_time_utc":"2025-01-02T03:00:00","candle_date_time_kst":"2025-01-02T12:00:00",
         "opening_price":96123000.0,"high_price":96200000,"low_price":96000000,"trade_price":96150000.12345678,
         "candle_acc_trade_volume":1.23456789,"candle_acc_trade_price":118700000.5,"timestamp":1735787045123,"stream_type":"REALTIME"}
        """;

    [Fact]
    public void A_candle_message_reads_as_the_candle_with_exact_decimals()
    {
        var e = Assert.IsType<StreamCandle>(StreamMessageReader.Read(Encoding.UTF8.GetBytes(CandleJson), At));
        Assert.Equal(new Candle("KRW-BTC", CandleUnit.FromMinutes(15), new DateTimeOffset(2025, 1, 2, 3, 0, 0, TimeSpan.Zero), "2025-01-02T12:00:00",
            96123000.0m, 96200000m, 96000000m, 96150000.12345678m, 1735787045123, 118700000.5m, 1.23456789m), e.Candle);
        Assert.False(e.Snapshot);
        Assert.Equal(At, e.At);
    }

    [Theory]
    [InlineData("""{"status":"UP"}""", typeof(StreamStatus))]
    [InlineData("""{"error":{"name":"INVALID_PARAM","message":"invalid code: KRW-NOPE"}}""", typeof(StreamError))]
    [InlineData("""{"type":"ticker","code":"KRW-BTC","trade_price":96150000,"timestamp":1735787045123}""", typeof(StreamTicker))]
    [InlineData("""{"type":"candle.1m","code":12garbage}""", typeof(StreamMalformed))]
    [InlineData("""{"type":"candle.1m","code":"KRW-BTC","candle_date_time_utc":"2025-01-02T03:00""", typeof(StreamMalformed))]
    [InlineData("""{"type":"candle.1m","code":"KRW-BTC"}""", typeof(StreamMalformed))]
    [InlineData("""{"type":"candle.1s","code":"KRW-BTC"}""", typeof(StreamMalformed))]
    [InlineData("""[1,2]""", typeof(StreamMalformed))]
    [InlineData("", typeof(StreamMalformed))]
    public void Every_message_reads_as_an_event_and_never_throws(string json, Type expected) =>
        Assert.IsType(expected, StreamMessageReader.Read(Encoding.UTF8.GetBytes(json), At));

    [Fact]
    public void A_misaligned_candle_is_malformed()
    {
        var json = CandleJson.Replace("03:00:00\"", "03:01:00\"", StringComparison.Ordinal);
        Assert.Contains("aligned", Assert.IsType<StreamMalformed>(StreamMessageReader.Read(Encoding.UTF8.GetBytes(json), At)).Problem, StringComparison.Ordinal);
    }
}
