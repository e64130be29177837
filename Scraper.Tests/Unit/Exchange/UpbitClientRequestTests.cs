using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Scraper.Domain;
using Scraper.Exchange;
using static Scraper.Tests.Exchange.ClientTestKit;

namespace Scraper.Tests.Exchange;

/// <summary>What goes on the wire: path, exact query string, headers and the signed JWT.</summary>
public sealed class UpbitClientRequestTests
{
    private const string AccessKey = "test-access-key-0123456789abcdefghijklmn";
    private const string SecretKey = "test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMN";
    private static readonly UpbitCredentials Keys = new(AccessKey, SecretKey);

    [Fact]
    public async Task MinuteCandles_SendsThePathAndTheExactlyEncodedQuery()
    {
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, "[]"));
        using var client = NewClient(server);

        await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);

        var request = Assert.Single(server.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal("/v1/candles/minutes/1", request.Path);
        Assert.Equal(MinuteQueryString, request.RawQuery);
    }

    [Fact]
    public async Task BaseUrlWithAPathPrefix_KeepsThePrefix()
    {
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, "[]"));
        using var client = NewClient(new Uri(server.BaseUrl, "/upbit"), Keys);

        await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);

        var request = Assert.Single(server.Requests);
        Assert.Equal("/upbit/v1/candles/minutes/1", request.Path);
        Assert.Equal(MinuteQueryString, request.RawQuery);
        await ValidateAsync(request);
    }

    [Theory]
    [InlineData("240", "/v1/candles/minutes/240")]
    [InlineData("15", "/v1/candles/minutes/15")]
    [InlineData("day", "/v1/candles/days")]
    public async Task EachUnit_HasItsPath(string unit, string path)
    {
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, "[]"));
        using var client = NewClient(server);
        Assert.True(CandleUnit.TryParse(unit, out var parsed));

        await client.GetCandlesAsync(new CandleQuery("KRW-BTC", parsed, To, 5), CancellationToken.None);

        Assert.Equal(path, Assert.Single(server.Requests).Path);
    }

    [Fact]
    public void BuildCandleQuery_ConvertsToUtc_DropsFractions_AndEscapesEveryValue()
    {
        var kst = new DateTimeOffset(2025, 6, 24, 13, 56, 0, 500, TimeSpan.FromHours(9));
        Assert.Equal("market=KRW-BTC&to=2025-06-24T04%3A56%3A00Z&count=200",
            UpbitClient.BuildCandleQuery(new CandleQuery("KRW-BTC", CandleUnit.FromMinutes(1), kst, 200)));
        Assert.Equal("market=A%20B%26C%3D%2B&to=2025-06-24T04%3A56%3A00Z&count=1",
            UpbitClient.BuildCandleQuery(new CandleQuery("A B&C=+", CandleUnit.Day, To, 1)));
    }

    [Fact]
    public async Task Tickers_AskForAllMarketsInOneRequest()
    {
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, "[]"));
        using var client = NewClient(server);

        await client.GetTickersAsync(["KRW-BTC", "KRW-ETH"], CancellationToken.None);

        var request = Assert.Single(server.Requests);
        Assert.Equal("/v1/ticker", request.Path);
        Assert.Equal("markets=KRW-BTC,KRW-ETH", request.RawQuery);
    }

    [Fact]
    public async Task NeverSendsOrigin_SendsUserAgentAndJson_AndNoAuthorizationWithoutKeys()
    {
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, "[]"));
        using var client = NewClient(server);

        await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);
        await client.GetTickersAsync(["KRW-BTC"], CancellationToken.None);

        Assert.Equal(2, server.Requests.Count);
        Assert.All(server.Requests, r =>
        {
            Assert.Null(r.Header("Origin"));
            Assert.Null(r.Header("Authorization"));
            Assert.Null(r.Header("Cookie"));
            Assert.Equal("scraper-tests/1", r.Header("User-Agent"));
            Assert.Equal("application/json", r.Header("Accept"));
        });
    }

    [Fact]
    public async Task WithKeys_EveryRequestCarriesAValidHs512Jwt_WhoseQueryHashIsTheSha512OfTheRawQuery()
    {
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, "[]"));
        using var client = NewClient(server, Keys);

        await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);
        await client.GetTickersAsync(["KRW-BTC", "KRW-ETH"], CancellationToken.None);

        Assert.Equal(2, server.Requests.Count);
        foreach (var request in server.Requests)
        {
            Assert.Null(request.Header("Origin"));
            var token = await ValidateAsync(request);
            Assert.Equal("HS512", token.Alg);
            Assert.Equal(AccessKey, token.GetClaim("access_key").Value);
            Assert.True(Guid.TryParse(token.GetClaim("nonce").Value, out _));
            var expected = Convert.ToHexStringLower(SHA512.HashData(Encoding.UTF8.GetBytes(request.RawQuery)));
            Assert.Equal(expected, token.GetClaim("query_hash").Value);
            Assert.Equal("SHA512", token.GetClaim("query_hash_alg").Value);
            // The seed hashed with SHA-256 while claiming SHA512.
            Assert.NotEqual(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(request.RawQuery))), token.GetClaim("query_hash").Value);
        }
    }

    [Fact]
    public async Task EachRequest_HasAFreshNonce()
    {
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, "[]"));
        using var client = NewClient(server, Keys);

        for (var i = 0; i < 3; i++) await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);

        var nonces = new List<string>();
        foreach (var request in server.Requests) nonces.Add((await ValidateAsync(request)).GetClaim("nonce").Value);
        Assert.Equal(3, nonces.Distinct().Count());
    }

    [Fact]
    public async Task Accounts_AreSignedWithoutQueryHash_AndParsedExactly()
    {
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, """
            [{"currency":"KRW","balance":"1000000.12345678","locked":"0.0","avg_buy_price":"0","avg_buy_price_modified":false,"unit_currency":"KRW"},
             {"currency":"BTC","balance":"0.00012345","locked":"0.00000001","avg_buy_price":"143250000.5","avg_buy_price_modified":false,"unit_currency":"KRW"}]
            """));
        using var client = NewClient(server, Keys);

        var response = await client.GetAccountsAsync(CancellationToken.None);

        Assert.Equal(ExchangeOutcome.Success, response.Outcome);
        Assert.Equal(
            [new Account("KRW", 1000000.12345678m, 0.0m, 0m, "KRW"), new Account("BTC", 0.00012345m, 0.00000001m, 143250000.5m, "KRW")],
            response.Value);
        var request = Assert.Single(server.Requests);
        Assert.Equal("/v1/accounts", request.Path);
        Assert.Equal("", request.RawQuery);
        var token = await ValidateAsync(request);
        Assert.False(token.TryGetClaim("query_hash", out _));
        Assert.False(token.TryGetClaim("query_hash_alg", out _));
        Assert.Equal(AccessKey, token.GetClaim("access_key").Value);
    }

    [Fact]
    public async Task Accounts_WithoutKeys_IsPermanentAndSendsNothing()
    {
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, "[]"));
        using var client = NewClient(server);

        var response = await client.GetAccountsAsync(CancellationToken.None);

        Assert.Equal(ExchangeOutcome.Permanent, response.Outcome);
        Assert.Equal("no_credentials", response.FailureReason);
        Assert.Empty(server.Requests);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(201)]
    public async Task CountOutsideOneTo200_IsAProgrammingError(int count)
    {
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, "[]"));
        using var client = NewClient(server);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            client.GetCandlesAsync(MinuteQuery with { Count = count }, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetTickersAsync([], CancellationToken.None));
        Assert.Empty(server.Requests);
    }

    private static async Task<JsonWebToken> ValidateAsync(ReceivedRequest request)
    {
        var authorization = request.Header("Authorization");
        Assert.NotNull(authorization);
        Assert.StartsWith("Bearer ", authorization, StringComparison.Ordinal);
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(authorization["Bearer ".Length..], new TokenValidationParameters
        {
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(SecretKey)),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha512],
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
            RequireSignedTokens = true,
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        return (JsonWebToken)result.SecurityToken;
    }
}
