using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Reactive.Testing;
using Scraper.Domain;
using Scraper.Exchange;

namespace Scraper.Tests.Pipeline;

/// <summary>Every line logged, in order, by any logger of the factory it belongs to.</summary>
public sealed class LogLines
{
    private readonly ConcurrentQueue<(LogLevel Level, string Category, string Message)> _lines = new();

    public IReadOnlyList<(LogLevel Level, string Category, string Message)> All => [.. _lines];

    /// <summary>Lines at the daemon's default level (Information) or above that contain <paramref name="text"/>.</summary>
    public IEnumerable<string> Containing(string text) =>
        _lines.Where(l => l.Level >= LogLevel.Information).Select(l => l.Message).Where(m => m.Contains(text, StringComparison.OrdinalIgnoreCase));

    public ILogger<T> For<T>() => new Logger<T>(this);

    public ILogger For(string category) => new Logger<object>(this, category);

    private sealed class Logger<T>(LogLines lines, string? category = null) : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines._lines.Enqueue((logLevel, category ?? typeof(T).Name, formatter(state, exception)));
    }
}

/// <summary>The test scheduler's virtual clock as a TimeProvider (no timers: reading the time only).</summary>
public sealed class SchedulerClock(TestScheduler scheduler) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => scheduler.Now;
}

/// <summary>An exchange that answers candle requests from a function of the request and the virtual time.</summary>
internal sealed class FunctionClient(Func<CandleQuery, Task<ExchangeResponse<IReadOnlyList<Candle>>>> answer) : IUpbitClient
{
    private int _sent;

    public int Sent => Volatile.Read(ref _sent);

    public Task<ExchangeResponse<IReadOnlyList<Candle>>> GetCandlesAsync(CandleQuery query, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _sent);
        return answer(query);
    }

    public Task<ExchangeResponse<IReadOnlyList<Ticker>>> GetTickersAsync(IReadOnlyList<string> markets, CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task<ExchangeResponse<IReadOnlyList<Account>>> GetAccountsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task<ExchangeResponse<IReadOnlyList<string>>> GetMarketsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

    public static ExchangeResponse<IReadOnlyList<Candle>> Fail(ExchangeOutcome outcome, int? status, string reason) =>
        new(outcome, null, status, null, TimeSpan.FromMilliseconds(5), reason, "scripted failure");
}
