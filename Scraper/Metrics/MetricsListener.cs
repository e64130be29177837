using System.Net;
using System.Net.Sockets;
using System.Text;
using Prometheus;

namespace Scraper.Metrics;

/// <summary>
/// Serves the registry on <c>http://HOST:PORT/metrics</c> and a liveness probe on <c>/healthz</c>;
/// every other path is 404, every method but GET and HEAD 405. A minimal HTTP/1.1 responder on a
/// socket bound to exactly the configured address: prometheus-net's MetricServer and HttpListener
/// match requests by their Host header and resolve host names to bind, so they can either not be
/// limited to loopback while accepting <c>localhost:8081</c>, or fail inside a sandbox (seen under
/// systemd). Each connection answers one request and closes; request headers are bounded.
/// <para>
/// The daemon's job is collecting prices, not serving scrapes: a flood of scrapers must not take
/// the CPU its pipeline needs. Responses therefore start at most <see cref="MaxResponsesPerSecond"/>
/// a second (a waiting scraper costs nothing), and the registry is rendered at most once per
/// <see cref="RenderMaxAge"/>, shared by every scrape in between. A Prometheus server scrapes once
/// every 15 s; 200 concurrent scrapers each still get an answer within about four seconds.
/// </para>
/// </summary>
public sealed class MetricsListener : IDisposable
{
    /// <summary>Responses started per second at most.</summary>
    public const int MaxResponsesPerSecond = 50;

    /// <summary>How old a rendered /metrics page may be when it is served again.</summary>
    public static readonly TimeSpan RenderMaxAge = TimeSpan.FromMilliseconds(100);

    private const int MaxRequestBytes = 8 * 1024;
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ResponseSpacing = TimeSpan.FromSeconds(1.0 / MaxResponsesPerSecond);
    private readonly TcpListener _listener;
    private readonly CollectorRegistry _registry;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _pace = new();
    private readonly SemaphoreSlim _render = new(1, 1);
    private long _nextResponse;
    private volatile Rendering? _rendered;
    private Task _loop = Task.CompletedTask;

    /// <summary>Prepares the listener; nothing is bound until <see cref="Start"/>.</summary>
    public MetricsListener(ListenAddress address, CollectorRegistry registry, TimeProvider? time = null)
    {
        _registry = registry;
        _time = time ?? TimeProvider.System;
        var endpoint = address.ToEndPoint();
        _listener = new TcpListener(endpoint);
        if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
            _listener.Server.DualMode = true;
    }

    /// <summary>The port actually bound (useful with port 0).</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Binds the port (throws <see cref="SocketException"/> when it is taken) and serves.</summary>
    public void Start()
    {
        _listener.Start(backlog: 512);
        _loop = Task.Run(ServeAsync);
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // a connection that died while queued
            }
            _ = Task.Run(() => RespondAsync(client));
        }
    }

    private async Task RespondAsync(TcpClient client)
    {
        using var _ = client;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(ClientTimeout);
        try
        {
            var stream = client.GetStream();
            var (method, path) = await ReadRequestLineAsync(stream, timeout.Token).ConfigureAwait(false);
            if (method == TooLarge)
            {
                await WriteAsync(stream, 431, "Request Header Fields Too Large", "text/plain", "request head over 8 KiB\n"u8.ToArray(), true, timeout.Token).ConfigureAwait(false);
                return;
            }
            if (method is null)
            {
                await WriteAsync(stream, 400, "Bad Request", "text/plain", "bad request\n"u8.ToArray(), true, timeout.Token).ConfigureAwait(false);
                return;
            }
            await WaitForTurnAsync(timeout.Token).ConfigureAwait(false);
            var head = method == "HEAD";
            if (method is not ("GET" or "HEAD"))
            {
                await WriteAsync(stream, 405, "Method Not Allowed", "text/plain", "only GET\n"u8.ToArray(), true, timeout.Token).ConfigureAwait(false);
            }
            else if (path == "/metrics")
            {
                var body = await RenderAsync(timeout.Token).ConfigureAwait(false);
                await WriteAsync(stream, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, !head, timeout.Token).ConfigureAwait(false);
            }
            else if (path == "/healthz")
            {
                await WriteAsync(stream, 200, "OK", "text/plain", "ok\n"u8.ToArray(), !head, timeout.Token).ConfigureAwait(false);
            }
            else
            {
                await WriteAsync(stream, 404, "Not Found", "text/plain", "not found: only /metrics and /healthz\n"u8.ToArray(), !head, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The scraper hung up or was too slow; nothing to answer.
        }
    }

    /// <summary>Waits until this response may start: one every <see cref="ResponseSpacing"/>.</summary>
    private async Task WaitForTurnAsync(CancellationToken cancellationToken)
    {
        TimeSpan wait;
        lock (_pace)
        {
            var now = _time.GetTimestamp();
            var turn = Math.Max(now, _nextResponse);
            _nextResponse = turn + (long)(ResponseSpacing.TotalSeconds * _time.TimestampFrequency);
            wait = TimeSpan.FromSeconds((double)(turn - now) / _time.TimestampFrequency);
        }
        if (wait > TimeSpan.Zero) await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The registry as text, rendered anew only when the last rendering is older than <see cref="RenderMaxAge"/>.</summary>
    private async Task<byte[]> RenderAsync(CancellationToken cancellationToken)
    {
        if (Fresh() is { } body) return body;
        await _render.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Fresh() is { } rendered) return rendered; // another scrape rendered it meanwhile
            using var buffer = new MemoryStream();
            await _registry.CollectAndExportAsTextAsync(buffer, cancellationToken).ConfigureAwait(false);
            var bytes = buffer.ToArray();
            _rendered = new Rendering(_time.GetTimestamp(), bytes);
            return bytes;
        }
        finally
        {
            _render.Release();
        }

        byte[]? Fresh() => _rendered is { } r && _time.GetElapsedTime(r.RenderedAt) < RenderMaxAge ? r.Body : null;
    }

    private const string TooLarge = "(too large)";

    private sealed record Rendering(long RenderedAt, byte[] Body);

    /// <summary>
    /// Reads the request head (at most 8 KiB) and returns its method and path; nulls when
    /// malformed, <see cref="TooLarge"/> as the method when the head does not end within the limit.
    /// </summary>
    internal static async Task<(string? Method, string? Path)> ReadRequestLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRequestBytes];
        var length = 0;
        var complete = false;
        while (length < buffer.Length && !complete)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0) break;
            length += read;
            complete = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0;
        }
        if (!complete) return (length >= buffer.Length ? TooLarge : null, null);
        var head = Encoding.ASCII.GetString(buffer, 0, length);
        var lineEnd = head.IndexOf("\r\n", StringComparison.Ordinal);
        if (lineEnd <= 0) return (null, null);
        var parts = head[..lineEnd].Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) || !parts[1].StartsWith('/')) return (null, null);
        var path = parts[1];
        var query = path.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0) path = path[..query];
        return (parts[0], path.Length > 1 ? path.TrimEnd('/') : path);
    }

    private static async Task WriteAsync(Stream stream, int status, string reason, string contentType, byte[] body, bool withBody, CancellationToken cancellationToken)
    {
        var header = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        if (withBody) await stream.WriteAsync(body, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try { _loop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        _stop.Dispose();
        _render.Dispose();
    }
}
