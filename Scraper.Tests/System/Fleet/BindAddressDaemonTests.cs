using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;

namespace Scraper.Tests.Fleet;

/// <summary>--bind-address: the real binary sends its exchange requests from the given local address.</summary>
public sealed class BindAddressDaemonTests() : FakeExchangeTest(new FakeExchangeOptions { NoTradeProbability = 0 })
{
    [Fact]
    public async Task Backfill_with_a_bind_address_sends_every_request_from_it()
    {
        var (code, _, stderr) = await ScraperProcess.RunAsync(
            ["backfill", "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Db, "--since", "3h", "--bind-address", "127.0.0.2"],
            TimeSpan.FromSeconds(60));

        Assert.True(code == 0, stderr);
        Assert.NotEmpty(Exchange.Requests);
        Assert.All(Exchange.Requests, r => Assert.Equal("127.0.0.2", r.SourceIp));
    }

    [Theory]
    [InlineData("not-an-address", "expected an IP address of this host")]
    [InlineData("192.0.2.1", "not an address of this host")]
    public async Task A_bad_bind_address_exits_78_with_one_line_naming_it(string value, string expected)
    {
        var (code, _, stderr) = await ScraperProcess.RunAsync(
            ["backfill", "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Db, "--since", "3h", "--bind-address", value],
            TimeSpan.FromSeconds(30));

        Assert.Equal(78, code);
        var line = Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains($"--bind-address '{value}'", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Empty(Exchange.Requests);
    }
}
