using Scraper.Exchange;

namespace Scraper.Tests.Exchange;

public sealed class RemainingRequestsTests
{
    [Theory]
    [InlineData("group=candles; min=1800; sec=9", "candles", 9)]
    [InlineData("group=default; min=900; sec=0", "default", 0)]
    [InlineData("sec=4;group=ticker", "ticker", 4)]
    [InlineData("  group = market ;  sec = 10 ", "market", 10)]
    [InlineData("GROUP=candles; SEC=3", "candles", 3)]
    public void Parse_ReadsGroupAndSecond_IgnoringMin(string header, string group, int second) =>
        Assert.Equal(new RemainingRequests(group, second), RemainingRequests.Parse(header));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("group=candles; min=1800")]
    [InlineData("min=1800; sec=9")]
    [InlineData("group=candles; sec=-1")]
    [InlineData("group=candles; sec=many")]
    [InlineData("nonsense")]
    public void Parse_ReturnsNull_WhenAbsentOrMalformed(string? header) =>
        Assert.Null(RemainingRequests.Parse(header));
}
