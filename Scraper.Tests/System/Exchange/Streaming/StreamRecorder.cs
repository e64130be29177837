using System.Collections.Concurrent;
using System.Diagnostics;
using Scraper.Exchange.Streaming;

namespace Scraper.Tests.Exchange.Streaming;

/// <summary>Subscribes to a stream and keeps every event, for tests that wait for one to come.</summary>
internal sealed class StreamRecorder : IDisposable
{
    private readonly ConcurrentQueue<StreamEvent> _events = new();
    private readonly IDisposable _subscription;
    private Exception? _error;

    public StreamRecorder(IObservable<StreamEvent> stream) =>
        _subscription = stream.Subscribe(_events.Enqueue, e => _error = e);

    /// <summary>Every event so far.</summary>
    public IReadOnlyList<StreamEvent> Events => [.. _events];

    /// <summary>Events of one kind so far.</summary>
    public IReadOnlyList<T> Of<T>() where T : StreamEvent => [.. _events.OfType<T>()];

    /// <summary>Waits (real time) until <paramref name="condition"/> holds; fails with what came instead.</summary>
    public async Task WaitForAsync(Func<StreamRecorder, bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition(this))
        {
            if (_error is not null) throw new InvalidOperationException("the stream failed: " + _error);
            if (sw.Elapsed > timeout)
                throw new TimeoutException($"no {what} within {timeout.TotalSeconds} s; {Of<StreamCandle>().Count} candles and {Of<StreamTicker>().Count} tickers came, and these other events: "
                    + string.Join(" | ", Events.Where(e => e is not StreamCandle and not StreamTicker).Take(20)));
            await Task.Delay(20);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _subscription.Dispose();
}
