using Scraper.Domain;
using Scraper.Exchange.Streaming;
using Xunit;

namespace Scraper.Tests.Exchange.Streaming;

public class StreamSubscriptionTests
{
    private static SeriesKey S(string market, int minutes) => new(market, CandleUnit.FromMinutes(minutes));

    [Fact]
    public void The_request_is_one_array_of_ticket_types_with_upper_case_codes_and_format()
    {
        var subscription = StreamSubscription.For([S("KRW-BTC", 1), S("KRW-ETH", 1), S("KRW-BTC", 15), new SeriesKey("KRW-BTC", CandleUnit.Day)]);
        Assert.Equal(
            """[{"ticket":"t"},{"type":"candle.1m","codes":["KRW-BTC","KRW-ETH"]},{"type":"candle.15m","codes":["KRW-BTC"]},{"type":"ticker","codes":["KRW-BTC","KRW-ETH"]},{"format":"DEFAULT"}]""",
            subscription.ToRequest("t"));
    }

    [Fact]
    public void The_ticker_of_every_market_given_is_asked_for_also_of_a_market_with_day_series_only()
    {
        var subscription = StreamSubscription.For([S("KRW-BTC", 1), new SeriesKey("KRW-ETH", CandleUnit.Day)], ["KRW-BTC", "KRW-ETH"]);
        Assert.Equal(
            """[{"ticket":"t"},{"type":"candle.1m","codes":["KRW-BTC"]},{"type":"ticker","codes":["KRW-BTC","KRW-ETH"]},{"format":"DEFAULT"}]""",
            subscription.ToRequest("t"));
    }

    [Fact]
    public void One_part_unless_the_limit_requires_more_and_a_market_stays_whole()
    {
        var subscription = StreamSubscription.For(Enumerable.Range(0, 10).SelectMany(i => new[] { S($"KRW-C{i}", 1), S($"KRW-C{i}", 5) }));
        Assert.Single(subscription.Split(30));
        var parts = subscription.Split(7);
        Assert.Equal(5, parts.Count); // 3 pairs per market, 2 markets per part
        Assert.All(parts, p => Assert.True(p.Pairs <= 7));
        Assert.Equal(subscription.Pairs, parts.Sum(p => p.Pairs));
    }

    [Fact]
    public void Without_leaves_out_every_stream_of_the_named_codes()
    {
        var s = StreamSubscription.For([S("KRW-BTC", 1), S("KRW-NOPE", 1)]).Without(["KRW-NOPE"]);
        Assert.Equal(["KRW-BTC"], s.Codes);
        Assert.Equal(2, s.Pairs);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000", "ws://127.0.0.1:5000/websocket/v1")]
    [InlineData("https://api.upbit.com", "wss://api.upbit.com/websocket/v1")]
    public void The_stream_address_follows_the_exchange_url(string baseUrl, string expected) =>
        Assert.Equal(expected, StreamOptions.UrlFor(new Uri(baseUrl)).ToString());
}

public class BackoffTests
{
    [Fact]
    public void Doubles_from_the_minimum_up_to_the_cap_with_jitter_in_the_upper_half()
    {
        var min = TimeSpan.FromSeconds(1);
        var max = TimeSpan.FromSeconds(60);
        Assert.Equal([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000], Enumerable.Range(0, 8).Select(f => Math.Round(Backoff.Delay(f, min, max, 0.999999).TotalMilliseconds)));
        Assert.Equal(500, Backoff.Delay(0, min, max, 0).TotalMilliseconds);
        Assert.Equal(30000, Backoff.Delay(100, min, max, 0).TotalMilliseconds);
    }

    [Fact]
    public void Never_below_200_ms_so_one_client_stays_within_5_connects_a_second() =>
        Assert.Equal(200, Backoff.Delay(0, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1), 0).TotalMilliseconds);
}
