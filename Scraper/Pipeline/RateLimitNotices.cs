using System.Reactive.Linq;
using System.Reactive.Subjects;

namespace Scraper.Pipeline;

/// <summary>
/// What a <see cref="RateLimitGroup"/> tells its listeners: its pauses, its slices and fixed buckets learnt or forgotten. Answers arrive
/// on many threads, and an Rx observer takes one notification at a time, so every notification
/// passes one gate; after disposal nothing is told.
/// </summary>
internal sealed class RateLimitNotices : IDisposable
{
    private readonly object _gate = new();
    private readonly Subject<RateLimitPause> _pauses = new();
    private readonly Subject<RateLimitSlice> _slices = new();
    private readonly Subject<RateLimitBucketEdge> _edges = new();
    private bool _disposed;

    /// <summary>Every pause as it starts.</summary>
    public IObservable<RateLimitPause> Pauses => _pauses.AsObservable();

    /// <summary>Every slice as it leaves.</summary>
    public IObservable<RateLimitSlice> Slices => _slices.AsObservable();

    /// <summary>Every fixed-bucket edge learnt or forgotten.</summary>
    public IObservable<RateLimitBucketEdge> BucketEdges => _edges.AsObservable();

    public void Publish(RateLimitPause pause) => Publish(_pauses, pause);

    public void Publish(RateLimitSlice slice) => Publish(_slices, slice);

    public void Publish(RateLimitBucketEdge edge) => Publish(_edges, edge);

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _pauses.OnCompleted();
            _pauses.Dispose();
            _slices.OnCompleted();
            _slices.Dispose();
            _edges.OnCompleted();
            _edges.Dispose();
        }
    }

    private void Publish<T>(Subject<T> subject, T value)
    {
        lock (_gate)
        {
            if (!_disposed) subject.OnNext(value);
        }
    }
}
