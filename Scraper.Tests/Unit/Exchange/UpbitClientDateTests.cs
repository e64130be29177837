using System.Globalization;
using Scraper.Exchange;
using static Scraper.Tests.Exchange.ClientTestKit;

namespace Scraper.Tests.Exchange;

/// <summary>The exchange's clock as its responses show it (the Date header), and what depends on it.</summary>
public sealed class UpbitClientDateTests
{
    private static string HttpDate(DateTimeOffset t) => t.UtcDateTime.ToString("r", CultureInfo.InvariantCulture);

    [Fact]
    public async Task The_Date_header_comes_back_with_this_hosts_clock_at_the_middle_of_the_round_trip()
    {
        var exchangeNow = new DateTimeOffset(2026, 11, 2, 12, 0, 30, TimeSpan.Zero);
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, Array(MinuteCandle()), ("Date", HttpDate(exchangeNow))));
        using var client = NewClient(server);

        var before = DateTimeOffset.UtcNow;
        var response = await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);
        var after = DateTimeOffset.UtcNow;

        Assert.True(response.IsSuccess, response.Detail);
        Assert.NotNull(response.Date);
        Assert.Equal(exchangeNow, response.Date.Date);
        Assert.InRange(response.Date.LocalMidpoint, before, after);
        Assert.InRange(response.Date.Skew - (before - exchangeNow), TimeSpan.FromSeconds(-2), TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task A_failure_carries_the_Date_header_too()
    {
        var exchangeNow = new DateTimeOffset(2026, 11, 2, 12, 0, 30, TimeSpan.Zero);
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(503, """{"error":{"name":"x","message":"y"}}""", ("Date", HttpDate(exchangeNow))));
        using var client = NewClient(server);

        var response = await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);

        Assert.Equal(ExchangeOutcome.Transient, response.Outcome);
        Assert.Equal(exchangeNow, response.Date?.Date);
    }

    [Fact]
    public async Task A_Retry_After_date_is_read_on_the_exchanges_clock_not_on_a_host_clock_running_ahead()
    {
        // This host runs ten minutes ahead of the exchange, which blocks for 45 s by its own clock.
        var exchangeNow = DateTimeOffset.UtcNow.AddMinutes(-10);
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(418, """{"error":{"name":"banned","message":"blocked"}}""",
            ("Date", HttpDate(exchangeNow)), ("Retry-After", HttpDate(exchangeNow.AddSeconds(45)))));
        using var client = NewClient(server);

        var response = await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);

        Assert.Equal(ExchangeOutcome.Banned, response.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(45), response.BlockDuration);
    }
}
