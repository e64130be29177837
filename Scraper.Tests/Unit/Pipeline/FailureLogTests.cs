using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

public class FailureLogTests
{
    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }

    private static FakeTimeProvider NewYear() => new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_burst_is_logged_once_even_with_successes_in_between_then_once_when_it_is_over()
    {
        var logger = new ListLogger();
        var time = NewYear();
        var log = new FailureLog(logger, time);

        for (var i = 0; i < 50; i++)
        {
            log.Failure("candles", "http_503", LogLevel.Warning, $"window {i}");
            log.Success("candles"); // other windows keep succeeding during the burst
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        Assert.Single(logger.Lines);
        Assert.Equal(LogLevel.Warning, logger.Lines[0].Level);
        Assert.Contains("window 0", logger.Lines[0].Message, StringComparison.Ordinal);

        time.Advance(FailureLog.QuietAfter);
        log.Success("candles");

        Assert.Equal(2, logger.Lines.Count);
        Assert.Contains("recovered from http_503: 50 in all over 4.9 s", logger.Lines[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_long_burst_is_summarised_periodically()
    {
        var logger = new ListLogger();
        var time = NewYear();
        var log = new FailureLog(logger, time);

        for (var i = 0; i < 70; i++)
        {
            log.Failure("ticker", "timeout", LogLevel.Warning, "slow");
            time.Advance(TimeSpan.FromSeconds(1));
        }

        // The opening line plus one summary every 30 s.
        Assert.Equal(3, logger.Lines.Count);
        Assert.Contains("continues: 30 more since the last line", logger.Lines[1].Message, StringComparison.Ordinal);

        // The closing line counts every one, not only those since the last summary.
        log.CloseAll();
        Assert.Equal("ticker: timeout: 70 in all over 69.0 s (not over at the stop)", logger.Lines[3].Message);
    }

    [Fact]
    public void Different_kinds_and_groups_are_separate_bursts()
    {
        var logger = new ListLogger();
        var log = new FailureLog(logger, NewYear());

        log.Failure("candles", "http_503", LogLevel.Warning, "a");
        log.Failure("candles", "timeout", LogLevel.Warning, "b");
        log.Failure("ticker", "http_503", LogLevel.Warning, "c");
        log.Failure("candles", "http_503", LogLevel.Warning, "d");

        Assert.Equal(3, logger.Lines.Count);
        Assert.StartsWith("candles: http_503: a ", logger.Lines[0].Message, StringComparison.Ordinal);
        Assert.StartsWith("candles: timeout: b ", logger.Lines[1].Message, StringComparison.Ordinal);
        Assert.StartsWith("ticker: http_503: c ", logger.Lines[2].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_burst_still_going_at_the_stop_is_summed_up_with_its_count()
    {
        var logger = new ListLogger();
        var time = NewYear();
        var log = new FailureLog(logger, time);
        for (var i = 0; i < 5; i++)
        {
            log.Failure("candles", "connection", LogLevel.Warning, "refused");
            time.Advance(TimeSpan.FromSeconds(1));
        }

        log.Failure("ticker", "http_503", LogLevel.Warning, "once"); // a burst of one: its line said it all
        log.CloseAll();
        log.CloseAll(); // nothing left to close

        Assert.Equal(3, logger.Lines.Count);
        Assert.Equal("candles: connection: 5 in all over 4.0 s (not over at the stop)", logger.Lines[2].Message);
    }
}
