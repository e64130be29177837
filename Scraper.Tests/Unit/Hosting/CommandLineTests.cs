using Scraper.Hosting;

namespace Scraper.Tests.Hosting;

public class CommandLineTests
{
    private static CommandLineRequest Parse(params string[] args) =>
        new CommandLineInterface().Parse(args, TextWriter.Null, out _) ?? throw new InvalidOperationException("help printed");

    [Fact]
    public void No_verb_means_run()
    {
        Assert.Equal(Verb.Run, Parse().Verb);
        Assert.Equal(Verb.Run, Parse("--rate", "5").Verb);
    }

    [Fact]
    public void Options_map_to_configuration_keys_before_or_after_the_verb()
    {
        var request = Parse("--markets", "KRW-BTC,KRW-ETH", "backfill", "--since", "2d", "--upbit-url", "http://127.0.0.1:1");

        Assert.Equal(Verb.Backfill, request.Verb);
        Assert.Equal("KRW-BTC,KRW-ETH", request.Settings["Markets"]);
        Assert.Equal("2d", request.Settings["Since"]);
        Assert.Equal("http://127.0.0.1:1", request.Settings["UpbitUrl"]);
        Assert.False(request.Settings.ContainsKey("Rate"));
    }

    [Fact]
    public void Export_has_its_own_options()
    {
        var request = Parse("export", "--market", "KRW-BTC", "--unit", "day", "--format", "jsonl");

        Assert.Equal(new ExportRequest("KRW-BTC", "day", null, null, "jsonl"), request.Export);
    }

    [Fact]
    public void An_unknown_option_is_a_configuration_error()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("--bogus", "1"));
        Assert.Contains("--bogus", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_and_version_print_and_exit_zero()
    {
        var output = new StringWriter();
        Assert.Null(new CommandLineInterface().Parse(["--help"], output, out var code));
        Assert.Equal(0, code);
        Assert.Contains("--markets", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("backfill", output.ToString(), StringComparison.Ordinal);

        var version = new StringWriter();
        Assert.Null(new CommandLineInterface().Parse(["--version"], version, out code));
        Assert.Equal(0, code);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.ToString());
    }
}
