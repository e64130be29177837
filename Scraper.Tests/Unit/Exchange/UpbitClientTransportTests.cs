using System.Net;
using System.Net.Sockets;
using Scraper.Exchange;
using static Scraper.Tests.Exchange.ClientTestKit;

namespace Scraper.Tests.Exchange;

/// <summary>Failures below HTTP (refused, reset, closed) and the caller's cancellation.</summary>
public sealed class UpbitClientTransportTests
{
    [Fact]
    public async Task ConnectionRefused_IsTransientConnection()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = NewClient(new Uri($"http://127.0.0.1:{port}"));

        var response = await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);

        Assert.Equal(ExchangeOutcome.Transient, response.Outcome);
        Assert.Equal("connection", response.FailureReason);
        Assert.Null(response.StatusCode);
        Assert.Null(response.Remaining);
        Assert.Contains("ConnectionRefused", response.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ConnectionResetOrClosedBeforeAnyResponse_IsTransientConnection_AfterOneRequest(bool reset)
    {
        await using var server = RawServer.Start(async socket =>
        {
            await socket.ReceiveAsync(new byte[4096]);
            if (reset) socket.LingerState = new LingerOption(true, 0);
        });
        using var client = NewClient(server.BaseUrl);

        var response = await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);

        Assert.Equal(ExchangeOutcome.Transient, response.Outcome);
        Assert.Equal("connection", response.FailureReason);
        Assert.Null(response.StatusCode);
        // SocketsHttpHandler would silently resend a content-less GET up to three times here.
        Assert.Equal(1, server.Connections);
    }

    [Fact]
    public async Task ConnectionLostInTheMiddleOfTheBody_IsTransientMalformedBody()
    {
        await using var server = RawServer.Start(async socket =>
        {
            await socket.ReceiveAsync(new byte[4096]);
            var body = System.Text.Encoding.UTF8.GetBytes(Array(MinuteCandle(), MinuteCandle()));
            var head = System.Text.Encoding.ASCII.GetBytes(
                $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nRemaining-Req: group=candles; min=1800; sec=3\r\nContent-Length: {body.Length}\r\n\r\n");
            await socket.SendAsync(head);
            await socket.SendAsync(body.AsMemory(0, body.Length / 2));
        });
        using var client = NewClient(server.BaseUrl);

        var response = await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);

        Assert.Equal(ExchangeOutcome.Transient, response.Outcome);
        Assert.Equal("malformed_body", response.FailureReason);
        Assert.Equal(200, response.StatusCode);
        Assert.Equal(new RemainingRequests("candles", 3), response.Remaining);
        Assert.Contains("ended early", response.Detail, StringComparison.Ordinal);
        Assert.Equal(1, server.Connections);
    }

    [Fact]
    public async Task CallerCancellation_WhileWaiting_Throws()
    {
        await using var server = await LoopbackServer.StartAsync(async context => await Task.Delay(Timeout.Infinite, context.RequestAborted));
        using var client = NewClient(server);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetCandlesAsync(MinuteQuery, cts.Token));
    }

    [Fact]
    public async Task CallerCancellation_BeforeTheCall_ThrowsWithoutSending()
    {
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, "[]"));
        using var client = NewClient(server);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetCandlesAsync(MinuteQuery, new CancellationToken(true)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetTickersAsync(["KRW-BTC"], new CancellationToken(true)));
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task ClientKeepsWorking_AfterFailures()
    {
        var calls = 0;
        await using var server = await LoopbackServer.StartAsync(async context =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
                return;
            }
            await LoopbackServer.Json(200, Array(MinuteCandle()))(context);
        });
        // The second request's budget also covers the first use of the success path (JIT, a new
        // connection) on a busy machine; 300 ms was sometimes not enough for that alone.
        using var client = NewClient(server, timeout: TimeSpan.FromSeconds(2));

        var first = await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);
        var second = await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);

        Assert.Equal("timeout", first.FailureReason);
        Assert.Equal(ExchangeOutcome.Success, second.Outcome);
        Assert.Equal(2, server.Requests.Count);
    }
}

/// <summary>A TCP server that runs <c>session</c> on each accepted connection, then closes it.</summary>
internal sealed class RawServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _connections;

    private RawServer(Func<Socket, Task> session)
    {
        _listener.Start();
        _acceptLoop = AcceptAsync(session);
    }

    public Uri BaseUrl => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    public int Connections => Volatile.Read(ref _connections);

    public static RawServer Start(Func<Socket, Task> session) => new(session);

    private async Task AcceptAsync(Func<Socket, Task> session)
    {
        try
        {
            while (true)
            {
                using var socket = await _listener.AcceptSocketAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                await session(socket);
                socket.Close();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _acceptLoop;
        _listener.Dispose();
        _stop.Dispose();
    }
}
