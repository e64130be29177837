using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Scraper.Exchange;

namespace Scraper.Tests.Exchange;

public sealed class UpbitTokenFactoryTests
{
    private const string Query = "market=KRW-BTC&to=2025-06-24T04%3A56%3A00Z&count=200";

    [Fact]
    public void HashQuery_IsLowerCaseHexSha512_NotSha256()
    {
        var hash = UpbitTokenFactory.HashQuery(Query);

        Assert.Equal(128, hash.Length);
        Assert.Equal(hash.ToLowerInvariant(), hash);
        Assert.Equal(Convert.ToHexStringLower(SHA512.HashData(Encoding.UTF8.GetBytes(Query))), hash);
        Assert.NotEqual(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Query))), hash);
        // A known vector, so a change of algorithm or encoding cannot go unnoticed.
        Assert.Equal(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            UpbitTokenFactory.HashQuery("abc"));
    }

    [Fact]
    public async Task Token_ValidatesWithTheSecret_AsHs512_WithTheUpbitClaimsOnly()
    {
        const string secret = "a-secret-key-long-enough-for-hs512-validation-0123456789abcdefghij";
        var factory = new UpbitTokenFactory(new UpbitCredentials("access", secret));

        var raw = factory.CreateToken(Query);
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(raw, new TokenValidationParameters
        {
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha512],
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
        });

        Assert.True(result.IsValid, result.Exception?.Message);
        var token = (JsonWebToken)result.SecurityToken;
        Assert.Equal("HS512", token.Alg);
        Assert.Equal(["access_key", "nonce", "query_hash", "query_hash_alg"], token.Claims.Select(c => c.Type).Order(StringComparer.Ordinal));
        Assert.Equal(UpbitTokenFactory.HashQuery(Query), token.GetClaim("query_hash").Value);
        Assert.Equal("SHA512", token.GetClaim("query_hash_alg").Value);
    }

    [Fact]
    public void Token_WithAFortyCharacterSecret_IsPlainHmacSha512OfThatSecret()
    {
        // Upbit secret keys are 40 characters: shorter than HS512's 64-byte minimum in the library.
        const string secret = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
        var raw = new UpbitTokenFactory(new UpbitCredentials("access", secret)).CreateToken(Query);

        var parts = raw.Split('.');
        Assert.Equal(3, parts.Length);
        using var hmac = new HMACSHA512(Encoding.UTF8.GetBytes(secret));
        var expected = Base64UrlEncoder.Encode(hmac.ComputeHash(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1])));
        Assert.Equal(expected, parts[2]);
        using var header = JsonDocument.Parse(Base64UrlEncoder.Decode(parts[0]));
        Assert.Equal("HS512", header.RootElement.GetProperty("alg").GetString());
    }

    [Fact]
    public void Token_WithoutQuery_HasNoQueryHash_AndEveryTokenHasItsOwnNonce()
    {
        var factory = new UpbitTokenFactory(new UpbitCredentials("access", "0123456789abcdefghijklmnopqrstuvwxyzABCD"));

        var first = new JsonWebToken(factory.CreateToken(null));
        var second = new JsonWebToken(factory.CreateToken(""));

        Assert.Equal(["access_key", "nonce"], first.Claims.Select(c => c.Type).Order(StringComparer.Ordinal));
        Assert.Equal(["access_key", "nonce"], second.Claims.Select(c => c.Type).Order(StringComparer.Ordinal));
        Assert.Equal("access", first.GetClaim("access_key").Value);
        Assert.NotEqual(first.GetClaim("nonce").Value, second.GetClaim("nonce").Value);
    }
}
