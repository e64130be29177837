using Microsoft.Extensions.Logging;

namespace Scraper.Metrics;

/// <summary>
/// Hands the web server's log records to the daemon's loggers: errors only (a scrape flood makes
/// Kestrel warn once per refused connection), and nothing before the server started, because
/// a failure to bind is reported once, by the caller, as a configuration error.
/// </summary>
internal sealed class ServerLogging(ILoggerFactory loggers) : ILoggerProvider
{
    private volatile bool _started;

    /// <summary>From now on records pass.</summary>
    public void Started() => _started = true;

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Gated(this, loggers.CreateLogger(categoryName));

    /// <inheritdoc />
    public void Dispose() { }

    private sealed class Gated(ServerLogging owner, ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => owner._started && logLevel >= LogLevel.Error && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
