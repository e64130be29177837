using Scraper.Hosting;
using Scraper.Tests.Integration;

namespace Scraper.Tests.Hosting;

/// <summary>
/// The option fuzz's odd values through the real binary (OptionFuzzTests tries every value in
/// process): refused with exit 78 and one line naming the option and the value.
/// </summary>
public sealed class OptionFuzzBinaryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("--since", "99999999999d")]
    [InlineData("--log-level", "None")]
    [InlineData("--rate", "99999999999999999999")]
    public async Task The_real_binary_exits_78_with_one_line(string flag, string value)
    {
        var (code, _, stderr) = await ScraperProcess.RunAsync(
            ["backfill", flag, value, "--upbit-url", "http://127.0.0.1:1", "--db", _dir.Combine("b.db")], TimeSpan.FromSeconds(30));

        Assert.True(code == ExitCodes.Config, $"exit {code}: {stderr}");
        var line = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains(flag, line, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", line, StringComparison.Ordinal);
    }
}
