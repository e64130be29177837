using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Scraper.Domain;

namespace Scraper.Tests.FakeExchange;

/// <summary>
/// The fake exchange's <c>/websocket/v1</c>: one subscription message, then a snapshot of the
/// newest candle per (unit, code) and the ticker, then realtime updates while candles form (the
/// same interval several times, at most once per tick) and the final value right after each close,
/// so a stream that loses nothing stores exactly what REST serves. Answers the text <c>PING</c>
/// with <c>{"status":"UP"}</c>, closes idle connections, and injects the faults of
/// <see cref="FakeStreamOptions"/>.
/// </summary>
public sealed class FakeStreamServer(FakeUpbitExchange exchange)
{
    private readonly ConcurrentDictionary<int, HttpContext> _open = new();
    private readonly ConcurrentQueue<string> _subscriptions = new();
    private readonly ConcurrentQueue<(string Code, CandleUnit Unit, DateTimeOffset Start)> _dropped = new();
    private readonly List<DateTimeOffset> _connects = [];
    private readonly ConcurrentQueue<(DateTimeOffset At, string From)> _accepts = new();
    private readonly Random _random = new(7);
    private readonly FakeUpbitExchange _exchange = exchange;
    private int _ids;
    private int _accepted;
    private int _refused;
    private int _pings;
    private long _sent;

    /// <summary>Behaviour and faults; may be changed while running.</summary>
    public FakeStreamOptions Options { get; } = new();

    /// <summary>Connections upgraded so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>When each connection was upgraded (the exchange's clock), in order.</summary>
    public IReadOnlyList<DateTimeOffset> AcceptedAt => [.. _accepts.Select(a => a.At)];

    /// <summary>The source address of each connection upgraded, in order.</summary>
    public IReadOnlyList<string> AcceptedFrom => [.. _accepts.Select(a => a.From)];

    /// <summary>Upgrades refused (503 or 429).</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>Text PINGs answered.</summary>
    public int Pings => Volatile.Read(ref _pings);

    /// <summary>Messages sent (faulty ones included).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Connections open now.</summary>
    public int OpenConnections => _open.Count;

    /// <summary>Every subscription text received.</summary>
    public IReadOnlyList<string> Subscriptions => [.. _subscriptions];

    /// <summary>Candle updates the drop fault swallowed.</summary>
    internal IReadOnlyList<(string Code, CandleUnit Unit, DateTimeOffset Start)> Dropped => [.. _dropped];

    /// <summary>Aborts every open connection (no close frame).</summary>
    public void DisconnectAll()
    {
        foreach (var ctx in _open.Values) ctx.Abort();
    }

    /// <summary>Serves one upgrade request.</summary>
    public async Task HandleAsync(HttpContext ctx)
    {
        if (!Admit())
        {
            Interlocked.Increment(ref _refused);
            ctx.Response.StatusCode = Options.RefuseAll || _exchange.Options.Time.GetUtcNow() < Options.RefuseUntil ? 503 : 429;
            return;
        }
        using var ws = await ctx.WebSockets.AcceptWebSocketAsync();
        Interlocked.Increment(ref _accepted);
        _accepts.Enqueue((_exchange.Options.Time.GetUtcNow(), ctx.Connection.RemoteIpAddress?.MapToIPv4().ToString() ?? ""));
        var id = Interlocked.Increment(ref _ids);
        _open[id] = ctx;
        try
        {
            await new Connection(this, ws, ctx).RunAsync();
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // the client went away or was cut off: nothing to do
        }
        finally
        {
            _open.TryRemove(id, out _);
        }
    }

    private bool Admit()
    {
        var now = _exchange.Options.Time.GetUtcNow();
        if (Options.RefuseAll || now < Options.RefuseUntil) return false;
        lock (_connects)
        {
            _connects.RemoveAll(t => t <= now - TimeSpan.FromSeconds(1));
            if (_connects.Count >= Options.ConnectsPerSecond) return false;
            _connects.Add(now);
            return true;
        }
    }

    private double NextRandom()
    {
        lock (_random) return _random.NextDouble();
    }

    /// <summary>One client connection: a receive loop (PING, idle timeout) and a tick loop (candles, ticker).</summary>
    private sealed class Connection(FakeStreamServer server, WebSocket ws, HttpContext ctx)
    {
        private readonly SemaphoreSlim _sending = new(1, 1);
        private readonly DateTimeOffset _opened = server._exchange.Options.Time.GetUtcNow();
        private readonly Dictionary<(CandleUnit, string), DateTimeOffset> _forming = [];
        private long _lastReceivedTicks;
        private int _count;
        private bool _binaryNext;

        private TimeProvider Time => server._exchange.Options.Time;
        private FakeStreamOptions Options => server.Options;
        private bool Stalled => Options.StallAfter is { } s && Time.GetUtcNow() - _opened >= s;

        public async Task RunAsync()
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
            var first = await ReceiveTextAsync(Options.SubscribeTimeout, stop.Token);
            if (first is null) return;
            server._subscriptions.Enqueue(first);
            var (subscription, error) = FakeStreamSubscription.Parse(first, server._exchange.Options.Markets, keepValid: !Options.CloseOnError);
            if (error is { } e)
            {
                await SendAsync(JsonSerializer.Serialize(new Dictionary<string, Dictionary<string, string>> { ["error"] = new() { ["name"] = e.Name, ["message"] = e.Message } }), stop.Token);
                if (subscription is null)
                {
                    await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "error", stop.Token);
                    return;
                }
            }
            Volatile.Write(ref _lastReceivedTicks, Time.GetUtcNow().UtcTicks);
            var receiving = ReceiveLoopAsync(stop);
            try
            {
                await SnapshotAsync(subscription!, stop.Token);
                await TickLoopAsync(subscription!, stop.Token);
                // Closed for idleness: give the client a moment to answer the close frame.
                await Task.WhenAny(receiving, Task.Delay(TimeSpan.FromSeconds(1), Time));
            }
            finally
            {
                await stop.CancelAsync();
                await receiving;
            }
        }

        private async Task ReceiveLoopAsync(CancellationTokenSource stop)
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    // Cancelling a WebSocket receive aborts the socket: the idle timeout is the tick loop's.
                    var text = await ReceiveTextAsync(Timeout.InfiniteTimeSpan, stop.Token);
                    if (text is null) break;
                    Volatile.Write(ref _lastReceivedTicks, Time.GetUtcNow().UtcTicks);
                    if (text == "PING" && !Stalled)
                    {
                        Interlocked.Increment(ref server._pings);
                        await SendAsync("""{"status":"UP"}""", stop.Token);
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
            }
            finally
            {
                await stop.CancelAsync();
            }
        }

        private async Task<string?> ReceiveTextAsync(TimeSpan timeout, CancellationToken ct)
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
            idle.CancelAfter(timeout);
            var buffer = new byte[4096];
            using var message = new MemoryStream();
            try
            {
                while (true)
                {
                    var r = await ws.ReceiveAsync(buffer, idle.Token);
                    if (r.MessageType == WebSocketMessageType.Close) return null;
                    message.Write(buffer, 0, r.Count);
                    if (r.EndOfMessage) return Encoding.UTF8.GetString(message.ToArray());
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return null;
            }
        }

        private async Task SnapshotAsync(FakeStreamSubscription subscription, CancellationToken ct)
        {
            var now = server._exchange.Now;
            foreach (var (unit, code) in subscription.CandlePairs)
            {
                var start = unit.AlignDown(now);
                _forming[(unit, code)] = start;
                for (var i = 0; i < 100; i++, start -= unit.Interval)
                {
                    if (server._exchange.Data.CandleAt(code, unit, start, now) is not { } c) continue;
                    await SendAsync(CandleJson(c, "SNAPSHOT"), ct);
                    break;
                }
            }
            foreach (var code in subscription.TickerCodes) await SendAsync(TickerJson(code, now, "SNAPSHOT"), ct);
        }

        private async Task TickLoopAsync(FakeStreamSubscription subscription, CancellationToken ct)
        {
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(Options.Tick, Time, ct);
                if (Options.DisconnectAfter is { } d && Time.GetUtcNow() - _opened >= d)
                {
                    ctx.Abort();
                    return;
                }
                if (Time.GetUtcNow().UtcTicks - Volatile.Read(ref _lastReceivedTicks) > Options.IdleTimeout.Ticks && !Stalled)
                {
                    await _sending.WaitAsync(ct);
                    await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "idle", ct);
                    return;
                }
                var now = server._exchange.Now;
                foreach (var (unit, code) in subscription.CandlePairs)
                {
                    var start = unit.AlignDown(now);
                    var previous = _forming[(unit, code)];
                    // The final value of every interval that closed since the last tick.
                    for (var closed = previous; closed < start; closed += unit.Interval)
                        if (server._exchange.Data.CandleAt(code, unit, closed, now) is { } c) await SendCandleAsync(c, ct);
                    _forming[(unit, code)] = start;
                    if (server.NextRandom() < Options.UpdateProbability && server._exchange.Data.CandleAt(code, unit, start, now) is { } forming)
                        await SendCandleAsync(forming, ct);
                }
                foreach (var code in subscription.TickerCodes) await SendAsync(TickerJson(code, now, "REALTIME"), ct);
            }
        }

        private Task SendCandleAsync(Candle c, CancellationToken ct)
        {
            if (Options.DropProbability > 0 && server.NextRandom() < Options.DropProbability)
            {
                server._dropped.Enqueue((c.Market, c.Unit, c.StartUtc));
                return Task.CompletedTask;
            }
            return SendAsync(CandleJson(c, "REALTIME"), ct);
        }

        private async Task SendAsync(string json, CancellationToken ct)
        {
            if (Stalled) return;
            await _sending.WaitAsync(ct);
            try
            {
                if (Options.SendDelay > TimeSpan.Zero) await Task.Delay(Options.SendDelay, Time, ct);
                _count++;
                if (Options.MalformedEvery > 0 && _count % Options.MalformedEvery == 0) json = "{\"type\":\"candle.1m\",\"code\":" + json.Length + "garbage}";
                else if (Options.TruncatedEvery > 0 && _count % Options.TruncatedEvery == 0) json = json[..(json.Length / 2)];
                var binary = Options.Frames switch
                {
                    FrameMode.Binary => true,
                    FrameMode.Alternate => _binaryNext = !_binaryNext,
                    _ => false,
                };
                await ws.SendAsync(Encoding.UTF8.GetBytes(json), binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text, true, ct);
                Interlocked.Increment(ref server._sent);
            }
            finally
            {
                _sending.Release();
            }
        }

        private static string CandleJson(Candle c, string streamType) => Write(w =>
        {
            w.WriteString("type", "candle." + c.Unit.Minutes + "m");
            w.WriteString("code", c.Market);
            FakeUpbitExchange.WriteCandleValues(w, c);
            w.WriteString("stream_type", streamType);
        });

        private string TickerJson(string code, DateTimeOffset now, string streamType)
        {
            var t = server._exchange.Data.TickerFor(code, now);
            return Write(w =>
            {
                w.WriteString("type", "ticker");
                w.WriteString("code", code);
                w.WriteNumber("trade_price", t.TradePrice);
                w.WriteNumber("acc_trade_price_24h", t.AccTradePrice24h);
                w.WriteNumber("timestamp", t.Timestamp);
                w.WriteString("stream_type", streamType);
            });
        }

        private static string Write(Action<Utf8JsonWriter> body)
        {
            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream))
            {
                w.WriteStartObject();
                body(w);
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(stream.ToArray());
        }
    }
}
