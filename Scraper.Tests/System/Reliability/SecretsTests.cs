using System.Diagnostics;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;

namespace Scraper.Tests.Reliability;

/// <summary>
/// Keys given by option, environment or file reach the exchange as a valid JWT (the fake verifies
/// it) and never appear in logs at any level, metrics, --help, error messages or crash output.
/// </summary>
public sealed class SecretsTests() : FakeExchangeTest(new FakeExchangeOptions { AccessKey = AccessKey, SecretKey = SecretKey })
{
    private const string AccessKey = "AKxq7Access0KeyValue1234567890abcdefghij";
    private const string SecretKey = "SKz9Secret0KeyValue0987654321ZYXWVUTSRQP";

    private static void AssertNoSecret(string where, string text)
    {
        Assert.False(text.Contains(SecretKey, StringComparison.Ordinal), $"the secret key leaked into {where}");
        Assert.False(text.Contains(AccessKey, StringComparison.Ordinal), $"the access key leaked into {where}");
        Assert.False(text.Contains(SecretKey[..12], StringComparison.Ordinal), $"part of the secret key leaked into {where}");
    }

    public static TheoryData<string> Sources => new() { "options", "environment", "files" };

    [Theory]
    [MemberData(nameof(Sources))]
    public async Task Keys_sign_requests_and_never_leak(string source)
    {
        var port = ScraperProcess.FreePort();
        var more = new List<string> { "--log-level", "Trace" };
        var env = new Dictionary<string, string>();
        switch (source)
        {
            case "options":
                more.AddRange(["--access-key", AccessKey, "--secret-key", SecretKey]);
                break;
            case "environment":
                env["SCRAPER_ACCESSKEY"] = AccessKey;
                env["SCRAPER_SECRETKEY"] = SecretKey;
                break;
            default:
                var ak = Path.Combine(Dir, "ak");
                var sk = Path.Combine(Dir, "sk");
                await File.WriteAllTextAsync(ak, AccessKey + "\n");
                await File.WriteAllTextAsync(sk, SecretKey + "\n");
                more.AddRange(["--access-key-file", ak, "--secret-key-file", sk]);
                break;
        }
        using var daemon = DaemonHarness.Start(Exchange, Path.Combine(Dir, "candles.db"), port, "KRW-BTC", "1h", more, env);
        await DaemonHarness.WaitForFollowingAsync(daemon, port, ["KRW-BTC"], TimeSpan.FromSeconds(30));
        var metrics = await DaemonHarness.ScrapeAsync(port);
        var sw = Stopwatch.StartNew();
        while (DaemonHarness.Sample(metrics, "upbit_account_balance{currency=\"BTC\"}") is null && sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(200);
            metrics = await DaemonHarness.ScrapeAsync(port);
        }
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));

        // The fake verified the JWT (HS512, nonce, SHA-512 query hash): balances were exported.
        Assert.Equal(0.12345678, DaemonHarness.Sample(metrics, "upbit_account_balance{currency=\"BTC\"}"));
        Assert.Contains(Exchange.Requests, r => r.Path == "/v1/accounts" && r.Status == 200);
        Assert.DoesNotContain(Exchange.Requests, r => r.Status == 401);
        AssertNoSecret("logs", daemon.Stderr);
        AssertNoSecret("stdout", daemon.Stdout);
        AssertNoSecret("metrics", metrics);
    }

    [Fact]
    public async Task Help_and_error_messages_never_show_keys()
    {
        var help = await ScraperProcess.RunAsync(["--help", "--secret-key", SecretKey], TimeSpan.FromSeconds(30));
        AssertNoSecret("--help", help.Stdout + help.Stderr);

        var bad = await ScraperProcess.RunAsync(["run", "--secret-key", SecretKey, "--rate", "0"], TimeSpan.FromSeconds(30));
        Assert.Equal(78, bad.ExitCode);
        AssertNoSecret("a configuration error", bad.Stdout + bad.Stderr);

        var onlySecret = await ScraperProcess.RunAsync(["run", "--secret-key", SecretKey], TimeSpan.FromSeconds(30));
        Assert.Equal(78, onlySecret.ExitCode);
        Assert.Contains("(value hidden)", onlySecret.Stderr, StringComparison.Ordinal);
        AssertNoSecret("a key error", onlySecret.Stdout + onlySecret.Stderr);

        var wrongKey = await ScraperProcess.RunAsync(
            ["backfill", "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Path.Combine(Dir, "x.db"), "--since", "10m",
             "--access-key", AccessKey, "--secret-key", SecretKey[..^1] + "X", "--log-level", "Trace"], TimeSpan.FromSeconds(60));
        AssertNoSecret("a rejected-key run", wrongKey.Stdout + wrongKey.Stderr);
    }
}
