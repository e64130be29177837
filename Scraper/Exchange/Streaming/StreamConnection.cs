using System.Buffers;
using System.Net.WebSockets;
using System.Reactive.Linq;
using System.Text;

namespace Scraper.Exchange.Streaming;

/// <summary>
/// One WebSocket connection as an observable: connects, sends the subscription, then emits every
/// message (text or binary frame) until the connection ends, which is always an error naming why
/// (<see cref="StreamClosedException"/>). A text PING goes out every <see cref="StreamOptions.PingInterval"/>;
/// nothing received for <see cref="StreamOptions.DeadAfter"/> ends the connection as dead.
/// Unsubscribing cancels and aborts the socket at once.
/// </summary>
internal sealed class StreamConnection(StreamOptions options, TimeProvider time)
{
    private const int MaxMessageBytes = 1 << 20;

    // Only to bind the source address; one for the process, like the REST client's handler.
    private readonly HttpMessageInvoker? _bound = options.BindAddress is null ? null : BoundInvoker(options.BindAddress);

    public IObservable<StreamEvent> Open(StreamSubscription subscription, int id) =>
        Observable.Using(
            () => new ClientWebSocket(),
            ws => Observable.Create<StreamEvent>((observer, ct) => RunAsync(ws, subscription, id, observer, ct)));

    private async Task RunAsync(ClientWebSocket ws, StreamSubscription subscription, int id, IObserver<StreamEvent> observer, CancellationToken ct)
    {
        // Keep-alive is the text PING: its answer proves the server alive, a protocol pong would not reach us.
        ws.Options.KeepAliveInterval = TimeSpan.Zero;
        await ConnectAsync(ws, ct);
        await SendAsync(ws, subscription.ToRequest(Guid.NewGuid().ToString()), ct);
        observer.OnNext(new StreamConnected(time.GetUtcNow(), id, subscription.Pairs));

        using var dead = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, dead.Token);
        var pinging = PingLoopAsync(ws, linked.Token);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var length = 0;
            while (true)
            {
                dead.CancelAfter(options.DeadAfter);
                if (length == buffer.Length) buffer = Grow(buffer);
                ValueWebSocketReceiveResult r;
                try
                {
                    r = await ws.ReceiveAsync(buffer.AsMemory(length), linked.Token);
                }
                catch (OperationCanceledException) when (dead.IsCancellationRequested && !ct.IsCancellationRequested)
                {
                    throw new StreamClosedException("dead", $"nothing received for {options.DeadAfter.TotalSeconds:0.#} s");
                }
                catch (WebSocketException e)
                {
                    throw new StreamClosedException("aborted", e.Message);
                }
                if (r.MessageType == WebSocketMessageType.Close)
                    throw new StreamClosedException("closed", $"closed by the server: {ws.CloseStatus} {ws.CloseStatusDescription}".TrimEnd());
                length += r.Count;
                if (!r.EndOfMessage) continue;
                observer.OnNext(StreamMessageReader.Read(buffer.AsSpan(0, length), time.GetUtcNow()));
                length = 0;
            }
        }
        finally
        {
            await linked.CancelAsync();
            await pinging;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task ConnectAsync(ClientWebSocket ws, CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(options.ConnectTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            if (_bound is null) await ws.ConnectAsync(options.Url, linked.Token);
            else await ws.ConnectAsync(options.Url, _bound, linked.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new StreamClosedException("refused", $"no connection within {options.ConnectTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException or IOException)
        {
            var status = ws.HttpStatusCode == 0 ? "" : $"HTTP {(int)ws.HttpStatusCode}: ";
            throw new StreamClosedException("refused", status + (e.InnerException?.Message ?? e.Message));
        }
    }

    private static HttpMessageInvoker BoundInvoker(System.Net.IPAddress local)
    {
#pragma warning disable CA2000 // the invoker owns the handler
        var handler = new SocketsHttpHandler { UseCookies = false };
#pragma warning restore CA2000
        SourceAddress.Bind(handler, local);
        return new HttpMessageInvoker(handler, disposeHandler: true);
    }

    private async Task PingLoopAsync(ClientWebSocket ws, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(options.PingInterval, time, ct);
                await SendAsync(ws, "PING", ct);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The receive loop reports how the connection ended.
        }
    }

    private static Task SendAsync(ClientWebSocket ws, string text, CancellationToken ct) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, ct);

    private static byte[] Grow(byte[] buffer)
    {
        if (buffer.Length >= MaxMessageBytes) throw new StreamClosedException("aborted", $"a message longer than {MaxMessageBytes} bytes");
        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
        buffer.CopyTo(bigger, 0);
        ArrayPool<byte>.Shared.Return(buffer);
        return bigger;
    }
}
