using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Hosting;

namespace Scraper.Tests.Hosting;

public sealed class SettingsLoaderTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Dictionary<string, string> Env(params (string, string)[] extra)
    {
        var env = new Dictionary<string, string> { ["HOME"] = "/root" };
        foreach (var (k, v) in extra) env[k] = v;
        return env;
    }

    private ScraperSettings Load(Dictionary<string, string>? cli = null, string? configFile = null, Dictionary<string, string>? env = null)
    {
        cli ??= [];
        cli.TryAdd("Db", _dir.Combine("candles.db"));
        return SettingsLoader.Load(cli, configFile, env ?? Env(), Now, needsWritableDb: true);
    }

    [Fact]
    public void Defaults_are_KRW_BTC_one_minute_thirty_days_rate_ten_port_8081()
    {
        var s = Load();

        Assert.Equal(["KRW-BTC"], s.Markets);
        Assert.Equal([CandleUnit.FromMinutes(1)], s.Units);
        Assert.Equal(Now.AddDays(-30), s.Since);
        Assert.Null(s.Until);
        Assert.Equal(10, s.Rate);
        Assert.Equal(0, s.ReserveForOthers);
        Assert.Equal("0.0.0.0:8081", s.Listen.ToString());
        Assert.Equal(new Uri("https://api.upbit.com"), s.UpbitUrl);
        Assert.Equal(TimeSpan.FromSeconds(1), s.TickerInterval);
        Assert.Null(s.Credentials);
    }

    [Fact]
    public void Command_line_beats_environment_beats_config_file()
    {
        var file = _dir.Combine("config.json");
        File.WriteAllText(file, """
            {
              // comments are allowed
              "Markets": ["KRW-ETH", "BTC-ETH"],
              "Rate": 5,
              "Units": "1,day"
            }
            """);

        var s = Load(new() { ["Rate"] = "7" }, file, Env(("SCRAPER_RATE", "6"), ("SCRAPER_SINCE", "2d")));

        Assert.Equal(["KRW-ETH", "BTC-ETH"], s.Markets);
        Assert.Equal([CandleUnit.FromMinutes(1), CandleUnit.Day], s.Units);
        Assert.Equal(7, s.Rate);
        Assert.Equal(1, Load(new() { ["ReserveForOthers"] = "1" }).ReserveForOthers);
        Assert.Equal(Now.AddDays(-2), s.Since);
    }

    [Fact]
    public void Under_systemd_the_database_defaults_to_the_state_directory()
    {
        var cli = new Dictionary<string, string>();
        var s = SettingsLoader.Load(cli, null, Env(("STATE_DIRECTORY", _dir.Path)), Now, needsWritableDb: true);

        Assert.Equal(_dir.Combine("candles.db"), s.DbPath);
    }

    [Fact]
    public void Keys_come_from_files_and_the_credentials_directory()
    {
        File.WriteAllText(_dir.Combine("upbit-access-key"), "AK-123\n");
        File.WriteAllText(_dir.Combine("upbit-secret-key"), "SK-456\n");

        var s = Load(env: Env(("CREDENTIALS_DIRECTORY", _dir.Path)));

        Assert.Equal(new UpbitCredentials("AK-123", "SK-456"), s.Credentials);
        Assert.DoesNotContain("SK-456", s.ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> BadValues => new()
    {
        { "Rate", "0", "invalid --rate '0': expected a whole number of requests per second from 1 to 1000" },
        { "Rate", "ten", "invalid --rate 'ten'" },
        { "ReserveForOthers", "6", "invalid --reserve-for-others '6': expected a whole number of places from 0 to 5" },
        { "ReserveForOthers", "-1", "invalid --reserve-for-others '-1'" },
        { "Markets", "BTC", "invalid --markets 'BTC': expected markets like KRW-BTC" },
        { "Markets", "KRW-BTC,krw btc", "'KRW BTC' is not one" },
        { "Units", "7", "invalid --units '7': expected minute units 1,3,5,10,15,30,60,240 or day" },
        { "Since", "yesterday", "invalid --since 'yesterday': expected an ISO date" },
        { "Since", "2099-01-01", "invalid --since '2099-01-01': expected a time before now" },
        { "Until", "2025-13-01", "invalid --until '2025-13-01'" },
        { "Listen", "8081", "invalid --listen '8081': expected HOST:PORT" },
        { "Listen", "0.0.0.0:99999", "invalid --listen '0.0.0.0:99999': expected a port from 1 to 65535" },
        { "UpbitUrl", "ftp://x", "invalid --upbit-url 'ftp://x': expected an http(s) base URL" },
        { "TickerInterval", "0s", "invalid --ticker-interval '0s': expected a duration from 100ms to 1h" },
        { "RequestTimeout", "forever", "invalid --request-timeout 'forever'" },
        { "LogLevel", "loud", "invalid --log-level 'loud': expected Trace, Debug" },
        { "AccessKey", "AK-SECRET-VALUE", "invalid --secret-key (value hidden): expected a secret key too" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void A_bad_value_is_one_line_naming_the_option_the_value_and_what_is_expected(string key, string value, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Load(new() { [key] = value }));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain("AK-SECRET-VALUE", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Since_after_until_is_refused()
    {
        var e = Assert.Throws<ConfigException>(() => Load(new() { ["Since"] = "2025-05-02", ["Until"] = "2025-05-01" }));
        Assert.Contains("invalid --since '2025-05-02': expected a time before --until", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_error_from_the_environment_names_the_variable()
    {
        var e = Assert.Throws<ConfigException>(() => Load(env: Env(("SCRAPER_RATE", "-3"))));
        Assert.StartsWith("invalid SCRAPER_RATE '-3'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_error_from_the_config_file_names_the_key_and_the_file()
    {
        var file = _dir.Combine("config.json");
        File.WriteAllText(file, """{ "Units": "2" }""");
        var e = Assert.Throws<ConfigException>(() => Load(configFile: file));
        Assert.StartsWith($"invalid \"Units\" in {file} '2'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_keys_in_the_config_file_and_environment_are_refused()
    {
        var file = _dir.Combine("config.json");
        File.WriteAllText(file, """{ "Marktes": "KRW-BTC" }""");
        var fromFile = Assert.Throws<ConfigException>(() => Load(configFile: file));
        Assert.Contains("invalid key \"Marktes\"", fromFile.Message, StringComparison.Ordinal);

        var fromEnv = Assert.Throws<ConfigException>(() => Load(env: Env(("SCRAPER_RATES", "3"))));
        Assert.Contains("SCRAPER_RATES", fromEnv.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_file_that_is_not_json_is_refused()
    {
        var file = _dir.Combine("config.json");
        File.WriteAllText(file, "Markets = KRW-BTC");
        var e = Assert.Throws<ConfigException>(() => Load(configFile: file));
        Assert.StartsWith($"invalid --config '{file}': not valid JSON", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unwritable_database_path_is_refused_before_anything_is_written()
    {
        var blocker = _dir.Combine("file");
        File.WriteAllText(blocker, "");
        var e = Assert.Throws<ConfigException>(() => Load(new() { ["Db"] = Path.Combine(blocker, "sub", "candles.db") }));
        Assert.StartsWith("invalid --db", e.Message, StringComparison.Ordinal);
        Assert.Contains("expected a writable database path", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_key_file_names_the_file_not_its_content()
    {
        var e = Assert.Throws<ConfigException>(() => Load(new() { ["AccessKeyFile"] = "/nonexistent/ak", ["SecretKey"] = "x" }));
        Assert.StartsWith("invalid --access-key-file '/nonexistent/ak'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_world_readable_config_file_with_a_key_is_refused_and_a_private_one_accepted()
    {
        var file = _dir.Combine("config.json");
        File.WriteAllText(file, """{ "AccessKey": "AK-1", "SecretKey": "SK-TOP-SECRET" }""");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var e = Assert.Throws<ConfigException>(() => Load(configFile: file));
        Assert.Contains("every user can read it (mode 644)", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SK-TOP-SECRET", e.Message, StringComparison.Ordinal);

        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        Assert.Equal("AK-1", Load(configFile: file).Credentials!.AccessKey);
    }
}
