using Scraper.Domain;

namespace Scraper.Tests.Exchange;

public sealed class CandleUnitTests
{
    [Theory]
    [InlineData("1", 1)]
    [InlineData("3", 3)]
    [InlineData("240", 240)]
    [InlineData(" 15 ", 15)]
    [InlineData("day", 0)]
    [InlineData("DAY", 0)]
    [InlineData("days", 0)]
    public void TryParse_AcceptsExchangeUnits(string text, int minutes)
    {
        Assert.True(CandleUnit.TryParse(text, out var unit));
        Assert.Equal(minutes, unit.Minutes);
        Assert.Equal(minutes == 0, unit.IsDay);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("2")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1m")]
    [InlineData("week")]
    [InlineData("+5")]
    public void TryParse_RejectsAnythingElse(string? text) => Assert.False(CandleUnit.TryParse(text, out _));

    [Fact]
    public void FromMinutes_RejectsUnservedUnits() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => CandleUnit.FromMinutes(2));

    [Fact]
    public void Names_Intervals_AndPaths()
    {
        Assert.Equal("1", CandleUnit.FromMinutes(1).Name);
        Assert.Equal("day", CandleUnit.Day.Name);
        Assert.Equal("day", CandleUnit.Day.ToString());
        Assert.Equal(TimeSpan.FromMinutes(240), CandleUnit.FromMinutes(240).Interval);
        Assert.Equal(TimeSpan.FromDays(1), CandleUnit.Day.Interval);
        Assert.Equal("minutes/240", CandleUnit.FromMinutes(240).PathSegment);
        Assert.Equal("days", CandleUnit.Day.PathSegment);
    }

    [Theory]
    [InlineData("1", "2025-06-24T04:56:59.999+00:00", "2025-06-24T04:56:00+00:00")]
    [InlineData("1", "2025-06-24T04:56:00+00:00", "2025-06-24T04:56:00+00:00")]
    [InlineData("1", "2025-06-24T13:56:30+09:00", "2025-06-24T04:56:00+00:00")]
    [InlineData("240", "2025-06-24T07:59:59+00:00", "2025-06-24T04:00:00+00:00")]
    [InlineData("240", "2025-06-24T08:00:00+00:00", "2025-06-24T08:00:00+00:00")]
    [InlineData("240", "2025-06-24T03:59:00+00:00", "2025-06-24T00:00:00+00:00")]
    [InlineData("day", "2025-06-24T23:59:59+00:00", "2025-06-24T00:00:00+00:00")]
    [InlineData("day", "2025-06-24T08:00:00+09:00", "2025-06-23T00:00:00+00:00")]
    [InlineData("day", "2025-06-24T00:00:00+00:00", "2025-06-24T00:00:00+00:00")]
    public void AlignDown_GivesTheUtcStartOfTheContainingCandle(string unitText, string instant, string expected)
    {
        Assert.True(CandleUnit.TryParse(unitText, out var unit));

        var aligned = unit.AlignDown(DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), aligned);
        Assert.Equal(TimeSpan.Zero, aligned.Offset);
    }
}
