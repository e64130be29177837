using Microsoft.AspNetCore.Http;
using Scraper.Domain;
using Scraper.Exchange;
using static Scraper.Tests.Exchange.ClientTestKit;

namespace Scraper.Tests.Exchange;

/// <summary>Every way a response can end, each classified into one <see cref="ExchangeResponse{T}"/> after one request.</summary>
public sealed class UpbitClientOutcomeTests
{
    private const string RemainingHeader = "group=candles; min=1800; sec=7";

    private static async Task<(ExchangeResponse<IReadOnlyList<Candle>> Response, LoopbackServer Server)> FetchAsync(
        Func<HttpContext, Task> handler, TimeSpan? timeout = null)
    {
        var server = await LoopbackServer.StartAsync(handler);
        using var client = NewClient(server, timeout: timeout);
        var response = await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);
        return (response, server);
    }

    [Fact]
    public async Task Success_ReturnsCandlesRemainingAndDuration()
    {
        var body = Array(MinuteCandle("2025-06-24T04:55:00"), MinuteCandle("2025-06-24T04:54:00", tradePrice: "143250000"));
        var (response, server) = await FetchAsync(LoopbackServer.Json(200, body, ("Remaining-Req", RemainingHeader)));
        await using var _ = server;

        Assert.Equal(ExchangeOutcome.Success, response.Outcome);
        Assert.True(response.IsSuccess);
        Assert.Equal(200, response.StatusCode);
        Assert.Equal(new RemainingRequests("candles", 7), response.Remaining);
        Assert.Null(response.FailureReason);
        Assert.True(response.Duration > TimeSpan.Zero);
        Assert.Equal(2, response.Value!.Count);
        var newest = response.Value[0];
        Assert.Equal("KRW-BTC", newest.Market);
        Assert.Equal(CandleUnit.FromMinutes(1), newest.Unit);
        Assert.Equal(new DateTimeOffset(2025, 6, 24, 4, 55, 0, TimeSpan.Zero), newest.StartUtc);
        Assert.Equal("2025-06-24T13:55:00", newest.StartKst);
        Assert.Equal(1750740959123L, newest.Timestamp);
        Assert.Null(newest.PrevClosingPrice);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task EmptyArray_IsSuccessWithNoCandles()
    {
        var (response, server) = await FetchAsync(LoopbackServer.Json(200, "[]"));
        await using var _ = server;
        Assert.Equal(ExchangeOutcome.Success, response.Outcome);
        Assert.Empty(response.Value!);
    }

    [Fact]
    public async Task DuplicateCandles_ArePassedThrough()
    {
        var (response, server) = await FetchAsync(LoopbackServer.Json(200, Array(MinuteCandle(), MinuteCandle())));
        await using var _ = server;
        Assert.Equal(2, response.Value!.Count);
        Assert.Equal(response.Value[0], response.Value[1]);
    }

    [Fact]
    public async Task TooManyRequests_IsRateLimited_WithRemaining()
    {
        var (response, server) = await FetchAsync(LoopbackServer.Json(429,
            """{"error":{"name":"too_many_requests","message":"Too many API requests."}}""", ("Remaining-Req", "group=candles; min=1800; sec=0")));
        await using var _ = server;
        Assert.Equal(ExchangeOutcome.RateLimited, response.Outcome);
        Assert.Equal("rate_limited", response.FailureReason);
        Assert.Equal(429, response.StatusCode);
        Assert.Equal(new RemainingRequests("candles", 0), response.Remaining);
        Assert.Null(response.Value);
        Assert.Single(server.Requests);
    }

    [Theory]
    [InlineData("""{"error":{"name":"banned","message":"blocked for 30 seconds"}}""", null, 30)]
    [InlineData("""{"error":{"name":"banned","message":"요청이 너무 많아 30초 동안 차단되었습니다"}}""", null, 30)]
    [InlineData("""{"error":{"name":"banned","message":"blocked for 2 minutes"}}""", null, 120)]
    [InlineData("""{"error":{"name":"banned","message":"blocked for 30 seconds"}}""", "45", 45)]
    [InlineData("""{"error":{"name":"banned","message":"you are blocked"}}""", null, null)]
    [InlineData("not json, blocked 12s", null, 12)]
    public async Task Teapot_IsBanned_WithBlockDurationFromRetryAfterElseMessage(string body, string? retryAfter, int? expectedSeconds)
    {
        var headers = retryAfter is null ? [] : new[] { ("Retry-After", retryAfter) };
        var (response, server) = await FetchAsync(LoopbackServer.Json(418, body, headers));
        await using var _ = server;
        Assert.Equal(ExchangeOutcome.Banned, response.Outcome);
        Assert.Equal("banned", response.FailureReason);
        Assert.Equal(418, response.StatusCode);
        Assert.Equal(expectedSeconds is null ? null : TimeSpan.FromSeconds(expectedSeconds.Value), response.BlockDuration);
        Assert.Single(server.Requests);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    public async Task ServerError_IsTransient_WithStatusReason(int status)
    {
        var (response, server) = await FetchAsync(LoopbackServer.Json(status,
            """{"error":{"name":"server_error","message":"try later"}}""", ("Remaining-Req", RemainingHeader)));
        await using var _ = server;
        Assert.Equal(ExchangeOutcome.Transient, response.Outcome);
        Assert.Equal($"http_{status}", response.FailureReason);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(new RemainingRequests("candles", 7), response.Remaining);
        Assert.Contains("server_error: try later", response.Detail, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Theory]
    [InlineData(400, "invalid_parameter", "to is not a valid date")]
    [InlineData(401, "jwt_verification", "Failed to verify Jwt token.")]
    [InlineData(403, "no_authorization_ip", "This is not a verified IP.")]
    [InlineData(404, "not_found", "Code not found")]
    [InlineData(405, "method_not_allowed", "GET only")]
    [InlineData(422, "unprocessable", "count must be 1..200")]
    public async Task ClientError_IsPermanent_WithExchangeErrorInDetail(int status, string name, string message)
    {
        var (response, server) = await FetchAsync(LoopbackServer.Json(status,
            $$$"""{"error":{"name":"{{{name}}}","message":"{{{message}}}"}}"""));
        await using var _ = server;
        Assert.Equal(ExchangeOutcome.Permanent, response.Outcome);
        Assert.Equal($"http_{status}", response.FailureReason);
        Assert.Equal(status, response.StatusCode);
        Assert.Contains($"{name}: {message}", response.Detail, StringComparison.Ordinal);
        Assert.Contains("GET /v1/candles/minutes/1?" + MinuteQueryString, response.Detail, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task ClientError_WithoutJsonBody_KeepsTheTextInDetail()
    {
        var (response, server) = await FetchAsync(async context =>
        {
            context.Response.StatusCode = 404;
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync("<html>no such page</html>");
        });
        await using var _ = server;
        Assert.Equal(ExchangeOutcome.Permanent, response.Outcome);
        Assert.Equal("http_404", response.FailureReason);
        Assert.Contains("<html>no such page</html>", response.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redirect_IsNotFollowed_AndIsPermanent()
    {
        var (response, server) = await FetchAsync(context =>
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.Location = "/elsewhere";
            return Task.CompletedTask;
        });
        await using var _ = server;
        Assert.Equal(ExchangeOutcome.Permanent, response.Outcome);
        Assert.Equal("http_302", response.FailureReason);
        Assert.Single(server.Requests);
    }

    [Theory]
    [InlineData("[{\"market\":\"KRW-BTC\",", "invalid JSON")]
    [InlineData("this is not json", "invalid JSON")]
    [InlineData("", "empty body")]
    [InlineData("""{"error":{"name":"server_busy","message":"later"}}""", "error object: server_busy: later")]
    [InlineData("""{"market":"KRW-BTC"}""", "expected a JSON array")]
    [InlineData("[1,2]", "expected an object")]
    [InlineData("[[]]", "expected an object")]
    public async Task BadBodyWith200_IsTransientMalformedBody(string body, string expectedInDetail)
    {
        var (response, server) = await FetchAsync(LoopbackServer.Json(200, body, ("Remaining-Req", RemainingHeader)));
        await using var _ = server;
        Assert.Equal(ExchangeOutcome.Transient, response.Outcome);
        Assert.Equal("malformed_body", response.FailureReason);
        Assert.Equal(200, response.StatusCode);
        Assert.Equal(new RemainingRequests("candles", 7), response.Remaining);
        Assert.Contains(expectedInDetail, response.Detail, StringComparison.Ordinal);
        Assert.Null(response.Value);
    }

    [Fact]
    public async Task WrongContentType_IsTransientMalformedBody_EvenWhenTheTextIsJson()
    {
        var (response, server) = await FetchAsync(async context =>
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.WriteAsync(Array(MinuteCandle()));
        });
        await using var _ = server;
        Assert.Equal(ExchangeOutcome.Transient, response.Outcome);
        Assert.Equal("malformed_body", response.FailureReason);
        Assert.Contains("text/html", response.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("market", "\"KRW-ETH\"", "market 'KRW-ETH' is not the requested 'KRW-BTC'")]
    [InlineData("candle_date_time_utc", "\"2025-06-24T04:55:30\"", "candle_date_time_utc '2025-06-24T04:55:30' is not aligned to unit 1")]
    [InlineData("candle_date_time_utc", "\"24/06/2025 04:55\"", "candle_date_time_utc '24/06/2025 04:55' is not yyyy-MM-ddTHH:mm:ss")]
    [InlineData("candle_date_time_utc", "null", "candle_date_time_utc is missing")]
    [InlineData("trade_price", "\"abc\"", "trade_price is not a decimal number")]
    [InlineData("high_price", "true", "high_price is not a decimal number")]
    [InlineData("timestamp", "1.5", "timestamp is not an integer")]
    [InlineData("unit", "5", "unit 5 is not 1")]
    public async Task InvalidCandle_IsTransientMalformedBody_NamingTheProblem(string field, string json, string expected)
    {
        var body = Array(MinuteCandle(), ReplaceField(MinuteCandle("2025-06-24T04:54:00"), field, json));
        var (response, server) = await FetchAsync(LoopbackServer.Json(200, body));
        await using var _ = server;
        Assert.Equal(ExchangeOutcome.Transient, response.Outcome);
        Assert.Equal("malformed_body", response.FailureReason);
        Assert.Contains("item 1: " + expected, response.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("opening_price")]
    [InlineData("high_price")]
    [InlineData("low_price")]
    [InlineData("trade_price")]
    [InlineData("timestamp")]
    [InlineData("candle_acc_trade_price")]
    [InlineData("candle_acc_trade_volume")]
    [InlineData("candle_date_time_kst")]
    [InlineData("market")]
    public async Task CandleMissingARequiredField_IsMalformedBody(string field)
    {
        var (response, server) = await FetchAsync(LoopbackServer.Json(200, Array(RemoveField(MinuteCandle(), field))));
        await using var _ = server;
        Assert.Equal("malformed_body", response.FailureReason);
        Assert.Contains($"item 0: {field} is missing", response.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HangingServer_TimesOutFast_AsTransientTimeout()
    {
        var (response, server) = await FetchAsync(async context => await Task.Delay(Timeout.Infinite, context.RequestAborted), TestTimeout);
        await using var _ = server;
        Assert.Equal(ExchangeOutcome.Transient, response.Outcome);
        Assert.Equal("timeout", response.FailureReason);
        Assert.Null(response.StatusCode);
        Assert.InRange(response.Duration, TestTimeout * 0.9, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task TrickleBody_ThatDoesNotFinishInTime_IsTransientTimeout()
    {
        var trickle = false;
        await using var server = await LoopbackServer.StartAsync(async context =>
        {
            context.Response.ContentType = "application/json";
            if (!Volatile.Read(ref trickle))
            {
                await context.Response.WriteAsync("[]");
                return;
            }
            await context.Response.WriteAsync("[", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            for (var i = 0; i < 100; i++)
            {
                await Task.Delay(50, context.RequestAborted);
                await context.Response.WriteAsync(" ", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
            await context.Response.WriteAsync("]", context.RequestAborted);
        });
        using var client = NewClient(server, timeout: TestTimeout);
        // A first, quick exchange warms up the connection and the code paths, so the 300 ms budget
        // below is spent on the trickling body only. On a busy machine the cold first one may itself
        // take longer than the budget: it is tried again until one fits (it warms up either way).
        var warm = false;
        for (var attempt = 0; attempt < 10 && !warm; attempt++) warm = (await client.GetCandlesAsync(MinuteQuery, CancellationToken.None)).IsSuccess;
        Assert.True(warm, "no quick exchange succeeded within the 300 ms budget in 10 attempts");
        Volatile.Write(ref trickle, true);

        var response = await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);

        Assert.Equal(ExchangeOutcome.Transient, response.Outcome);
        Assert.Equal("timeout", response.FailureReason);
        Assert.Equal(200, response.StatusCode);
        Assert.Contains("body not complete", response.Detail, StringComparison.Ordinal);
        Assert.InRange(response.Duration, TestTimeout * 0.9, TimeSpan.FromSeconds(3));
    }

    private static string ReplaceField(string candle, string field, string json)
    {
        using var document = System.Text.Json.JsonDocument.Parse(candle);
        var parts = document.RootElement.EnumerateObject()
            .Select(p => $"\"{p.Name}\":{(p.Name == field ? json : p.Value.GetRawText())}");
        return "{" + string.Join(",", parts) + "}";
    }

    private static string RemoveField(string candle, string field)
    {
        using var document = System.Text.Json.JsonDocument.Parse(candle);
        var parts = document.RootElement.EnumerateObject().Where(p => p.Name != field).Select(p => $"\"{p.Name}\":{p.Value.GetRawText()}");
        return "{" + string.Join(",", parts) + "}";
    }
}
