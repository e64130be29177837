using System.Reactive.Linq;

namespace Scraper.Exchange.Streaming;

/// <summary>
/// The exchange's quotation stream as one observable of <see cref="StreamEvent"/>s: the
/// subscription over as few connections as the limits allow, each reconnected with exponential
/// back-off and jitter after it ends (every end is reported as a <see cref="StreamDisconnected"/>).
/// An error message is reported once, with the subscription that caused it; the codes it names are
/// left out of the following connections. The observable ends only when unsubscribed (or when no
/// code is left).
/// </summary>
internal sealed class UpbitStream(StreamOptions options, TimeProvider time, Func<double>? random = null)
{
    private readonly StreamConnection _connection = new(options, time);
    private readonly Func<double> _random = random ?? Random.Shared.NextDouble;

    /// <summary>The options in use.</summary>
    public StreamOptions Options => options;

    /// <summary>Follows <paramref name="subscription"/> until unsubscribed.</summary>
    public IObservable<StreamEvent> Follow(StreamSubscription subscription) =>
        subscription.Split(options.MaxPairsPerConnection).Select(FollowPart).Merge();

    private IObservable<StreamEvent> FollowPart(StreamSubscription part, int id) =>
        Observable.Create<StreamEvent>(async (observer, ct) =>
        {
            var current = part;
            var failures = 0;
            var reported = new HashSet<string>(StringComparer.Ordinal);
            try
            {
                await Task.Delay(options.ConnectSpacing * id, time, ct);
                while (!current.IsEmpty)
                {
                    var connected = false;
                    var served = false;
                    var dropped = new HashSet<string>(StringComparer.Ordinal);
                    string reason;
                    string detail;
                    try
                    {
                        await _connection.Open(current, id).ForEachAsync(e =>
                        {
                            switch (e)
                            {
                                case StreamConnected:
                                    connected = true;
                                    break;
                                case StreamError error:
                                    var named = current.Codes.Where(c => error.Message.Contains(c, StringComparison.Ordinal)).ToList();
                                    dropped.UnionWith(named);
                                    if (!reported.Add(error.Name + "\n" + error.Message)) return;
                                    e = error with { Subscription = current.ToString(), DroppedCodes = named };
                                    break;
                                case StreamCandle or StreamTicker:
                                    served = true;
                                    break;
                            }
                            observer.OnNext(e);
                        }, ct);
                        (reason, detail) = ("closed", "the connection ended");
                    }
                    catch (StreamClosedException e)
                    {
                        (reason, detail) = (e.Reason, e.Message);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        (reason, detail) = ("aborted", $"{e.GetType().Name}: {e.Message}");
                    }
                    if (dropped.Count > 0) current = current.Without(dropped);
                    // A connection that carried data proves the way open: start the back-off again.
                    failures = served ? 0 : failures + 1;
                    var wait = Backoff.Delay(failures - 1 < 0 ? 0 : failures - 1, options.MinBackoff, options.MaxBackoff, _random());
                    observer.OnNext(new StreamDisconnected(time.GetUtcNow(), id, reason, detail, connected, wait));
                    await Task.Delay(wait, time, ct);
                }
                observer.OnCompleted();
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // unsubscribed: a clean stop
            }
        });
}
