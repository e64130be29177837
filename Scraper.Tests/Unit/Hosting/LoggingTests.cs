using NLog;
using Scraper.Hosting;

namespace Scraper.Tests.Hosting;

public class LoggingTests
{
    [Theory]
    [InlineData("Error", "<3>")]
    [InlineData("Warn", "<4>")]
    [InlineData("Info", "<6>")]
    [InlineData("Debug", "<7>")]
    [InlineData("Fatal", "<2>")]
    public void Journal_lines_start_with_the_syslog_priority_and_carry_no_timestamp(string level, string prefix)
    {
        var e = new LogEventInfo(LogLevel.FromString(level), "Scraper.Pipeline.CandleCollector", "backfill 50%");

        var line = Logging.JournalLine(e);

        Assert.Equal($"{prefix}CandleCollector: backfill 50%", line);
    }

    [Fact]
    public void A_multi_line_exception_stays_one_journal_record()
    {
        Exception ex;
        try { throw new InvalidOperationException("boom\nsecond line"); } catch (InvalidOperationException caught) { ex = caught; }
        var e = new LogEventInfo(LogLevel.Error, "X", "failed") { Exception = ex };

        var line = Logging.JournalLine(e);

        Assert.StartsWith("<3>X: failed System.InvalidOperationException: boom | second line", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);
    }

    [Fact]
    public void Terminal_lines_have_utc_time_and_level()
    {
        var e = new LogEventInfo(LogLevel.Warn, "A.B", "careful") { TimeStamp = new DateTime(2025, 1, 2, 3, 4, 5, 6, DateTimeKind.Utc) };

        Assert.Equal("2025-01-02 03:04:05.006Z WARN  B: careful", Logging.TerminalLine(e));
    }

    [Fact]
    public void Systemd_is_detected_from_its_environment()
    {
        Assert.True(Logging.UnderSystemd(new Dictionary<string, string> { ["JOURNAL_STREAM"] = "8:123" }));
        Assert.True(Logging.UnderSystemd(new Dictionary<string, string> { ["INVOCATION_ID"] = "abc" }));
        Assert.False(Logging.UnderSystemd(new Dictionary<string, string> { ["TERM"] = "xterm" }));
    }
}
