using Microsoft.AspNetCore.Http;
using Scraper.Exchange;
using static Scraper.Tests.Exchange.ClientTestKit;

namespace Scraper.Tests.Exchange;

/// <summary>Neither key, nor the bearer token, ever reaches a Detail or a printed object.</summary>
public sealed class SecretsNeverLeakTests
{
    private const string AccessKey = "ACCESSKEYabcdefghijklmnopqrstuvwxyz012345";
    private const string SecretKey = "SECRETKEYabcdefghijklmnopqrstuvwxyz012345";
    private static readonly UpbitCredentials Keys = new(AccessKey, SecretKey);

    [Fact]
    public void Credentials_AndOptions_PrintWithoutKeys()
    {
        var options = new UpbitClientOptions { Credentials = Keys };

        foreach (var printed in new[] { Keys.ToString(), options.ToString(), $"{Keys}", $"{options}" })
        {
            Assert.DoesNotContain(AccessKey, printed, StringComparison.Ordinal);
            Assert.DoesNotContain(SecretKey, printed, StringComparison.Ordinal);
            Assert.Contains("***", printed, StringComparison.Ordinal);
        }
        Assert.Equal("UpbitCredentials { AccessKey = ***, SecretKey = *** }", Keys.ToString());
        Assert.Equal(Keys, new UpbitCredentials(AccessKey, SecretKey));
    }

    public static TheoryData<int, int> Statuses => new()
    {
        { 200, 0 }, { 400, 0 }, { 401, 0 }, { 418, 0 }, { 429, 0 }, { 500, 0 },
        // Padding puts the echoed token across the point where a long detail is cut.
        { 400, 450 }, { 400, 520 },
    };

    [Theory]
    [MemberData(nameof(Statuses))]
    public async Task EchoedKeysAndToken_AreScrubbedFromDetail(int status, int padding)
    {
        // A hostile or buggy server echoing the Authorization header and the keys back.
        await using var server = await LoopbackServer.StartAsync(async context =>
        {
            var echoed = $"{new string('x', padding)}auth={context.Request.Headers.Authorization} access={AccessKey} secret={SecretKey}";
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($$$"""{"error":{"name":"echo","message":"{{{echoed}}}"}}""");
        });
        using var client = NewClient(server, Keys);

        var responses = new List<object>
        {
            await client.GetCandlesAsync(MinuteQuery, CancellationToken.None),
            await client.GetTickersAsync(["KRW-BTC"], CancellationToken.None),
            await client.GetAccountsAsync(CancellationToken.None),
        };

        var tokens = server.Requests.Select(r => r.Header("Authorization")!["Bearer ".Length..]).ToList();
        Assert.Equal(3, tokens.Count);
        foreach (var response in responses)
        {
            var printed = response.ToString()!;
            Assert.Contains("echo", printed, StringComparison.Ordinal);
            Assert.DoesNotContain(AccessKey, printed, StringComparison.Ordinal);
            Assert.DoesNotContain(SecretKey, printed, StringComparison.Ordinal);
            Assert.All(tokens, token => Assert.DoesNotContain(token, printed, StringComparison.Ordinal));
            Assert.DoesNotContain("eyJ", printed, StringComparison.Ordinal); // no JWT of any kind
            Assert.All(tokens.SelectMany(t => t.Split('.')), segment => Assert.DoesNotContain(segment[..12], printed, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task TransportFailures_DoNotMentionKeys()
    {
        await using var server = await LoopbackServer.StartAsync(async (HttpContext context) => await Task.Delay(Timeout.Infinite, context.RequestAborted));
        using var client = NewClient(server, Keys, timeout: TestTimeout);

        var response = await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);

        Assert.Equal("timeout", response.FailureReason);
        Assert.DoesNotContain(AccessKey, response.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(SecretKey, response.ToString(), StringComparison.Ordinal);
    }
}
