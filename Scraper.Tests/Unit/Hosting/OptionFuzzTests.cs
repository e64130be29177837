using System.Globalization;
using Scraper.Hosting;

namespace Scraper.Tests.Hosting;

/// <summary>
/// Every option against a table of odd values (huge, negative, empty, unicode, overflowing, control
/// characters): each one is either accepted or refused with exit 78 and one line that names the
/// option and the value. Nothing may end in an unhandled exception (exit 134, which systemd restarts).
/// </summary>
public sealed class OptionFuzzTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Odd values tried on every option.</summary>
    public static readonly string[] OddValues =
    [
        "", " ", "\t", "0", "-0", "-1", "-5s", "1.5", "0x10", "1_000", "1e308", "NaN", "Infinity", "-Infinity",
        "2147483647", "2147483648", "-2147483649", "99999999999", "99999999999d", "99999999999ms", "9999999999999999999999w",
        new string('9', 400), new string('9', 400) + "d", "10675199d", "10675200d", "3000000d", "1000000w", "1e3d", "0.0000001ms",
        "10675199.02:48:05.4775807", "-00:00:01", "00:00:00", "9999-12-31", "9999-12-31T23:59:59Z", "0001-01-01", "0001-01-01T00:00:00+14:00",
        "2025-02-30", "٣", "１０", "10s\u200B", "🙂", "KRW-₿", "ＫＲＷ-ＢＴＣ", "\u202Eevil", "a\nb", "a\rb", "a\0b",
        "None", "none", "6", "-1d", "--help", "http://[::1", "127.0.0.1:99999", "[::1]:0", ":", ",", ",,,",
        new string('x', 5000),
    ];

    public static TheoryData<string> Options()
    {
        var data = new TheoryData<string>();
        foreach (var key in SettingsLoader.Keys) data.Add(SettingsLoader.Flag(key));
        data.Add("--config");
        return data;
    }

    [Theory]
    [MemberData(nameof(Options))]
    public async Task Every_odd_value_is_accepted_or_refused_with_exit_78_and_one_line(string flag)
    {
        var problems = new List<string>();
        foreach (var value in OddValues)
        {
            var (code, stderr, crash) = await RunVerifyAsync(flag, value);
            if (crash is not null)
            {
                problems.Add($"{flag} {Show(value)}: unhandled {crash.GetType().Name}: {crash.Message.Split('\n')[0]}");
                continue;
            }
            if (code != ExitCodes.Config) continue;
            var lines = stderr.TrimEnd('\n').Split('\n');
            if (lines.Length != 1) problems.Add($"{flag} {Show(value)}: {lines.Length} lines: {Show(stderr)}");
            else if (!lines[0].Contains(flag, StringComparison.Ordinal) && !lines[0].Contains("invalid command line", StringComparison.Ordinal))
                problems.Add($"{flag} {Show(value)}: the line does not name {flag}: {lines[0]}");
            else if (IsPlain(value) && value.Length <= 100 && !flag.EndsWith("-key", StringComparison.Ordinal) && !lines[0].Contains($"'{value}'", StringComparison.Ordinal))
                problems.Add($"{flag} {Show(value)}: the line does not name the value: {lines[0]}");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    public static TheoryData<string, string> MustBeRefused() => new()
    {
        { "--since", "99999999999d" },
        { "--since", new string('9', 400) + "d" },
        { "--since", "3000000d" },
        { "--since", "10675200d" },
        { "--since", "1000000w" },
        { "--since", "-1d" },
        { "--since", "" },
        { "--until", "99999999999d" },
        { "--until", "3000000d" },
        { "--ticker-interval", "99999999999d" },
        { "--ticker-interval", "10675199.02:48:05.4775807" },
        { "--request-timeout", "9999999999999999999999w" },
        { "--request-timeout", "NaN" },
        { "--rate", "2147483648" },
        { "--rate", "٣" },
        { "--rate", "１０" },
        { "--reserve-for-others", "１" },
        { "--log-level", "None" },
        { "--log-level", "6" },
        { "--log-level", "3" },
        { "--log-level", "" },
        { "--markets", "ＫＲＷ-ＢＴＣ" },
        { "--listen", "127.0.0.1:99999" },
        { "--db", "" },
        { "--db", "a\0b" },
        { "--access-key-file", "" },
        { "--access-key-file", "a\0b" },
        { "--upbit-url", "http://[::1" },
    };

    [Theory]
    [MemberData(nameof(MustBeRefused))]
    public async Task A_bad_value_exits_78_with_one_line(string flag, string value)
    {
        var (code, stderr, crash) = await RunVerifyAsync(flag, value);

        Assert.Null(crash);
        Assert.True(code == ExitCodes.Config, $"exit {code}: {stderr}");
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains(flag, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_log_level_error_lists_exactly_the_levels_that_are_accepted()
    {
        var (code, stderr, _) = await RunVerifyAsync("--log-level", "Verbose");
        Assert.Equal(ExitCodes.Config, code);
        var listed = stderr[(stderr.IndexOf("expected", StringComparison.Ordinal) + "expected".Length)..]
            .Split([',', ' '], StringSplitOptions.RemoveEmptyEntries).Where(w => w != "or").Select(w => w.Trim()).ToList();
        foreach (var level in Enum.GetNames<Microsoft.Extensions.Logging.LogLevel>())
        {
            var (accepted, _, _) = await RunVerifyAsync("--log-level", level);
            Assert.True((accepted != ExitCodes.Config) == listed.Contains(level), $"{level}: exit {accepted}, listed: {string.Join(' ', listed)}");
        }
    }

    /// <summary>Runs `verify` in process with one option set; verify only reads, so any accepted value is harmless.</summary>
    private async Task<(int Code, string Stderr, Exception? Crash)> RunVerifyAsync(string flag, string value)
    {
        var args = new List<string> { "verify", flag, value };
        if (flag != "--db") args.AddRange(["--db", _dir.Combine("missing.db")]);
        if (flag != "--upbit-url") args.AddRange(["--upbit-url", "http://127.0.0.1:1"]);
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var app = new ProgramContext(stdout, stderr, new Dictionary<string, string>(), TimeProvider.System, CancellationToken.None);
        try
        {
            var code = await ScraperApp.RunAsync([.. args], app);
            return (code, stderr.ToString(), null);
        }
        catch (Exception e)
        {
            return (-1, stderr.ToString(), e);
        }
    }

    private static bool IsPlain(string value) => value.Length > 0 && value.All(c => c >= ' ' && c < 0x7f) && value.Trim() == value;

    private static string Show(string value)
    {
        var shown = string.Concat(value.Select(c => char.IsControl(c) || c is '\u200B' or '\u202E' ? $"\\u{(int)c:x4}" : c.ToString()));
        return "'" + (shown.Length > 60 ? shown[..60] + "…" : shown) + "'";
    }
}
