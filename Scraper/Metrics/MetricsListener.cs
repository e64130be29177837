using System.Net;
using Prometheus;

namespace Scraper.Metrics;

/// <summary>
/// Serves the registry on <c>http://HOST:PORT/metrics</c> and a liveness probe on <c>/healthz</c>;
/// every other path is 404. prometheus-net's own MetricServer takes one host name, and
/// HttpListener matches requests by their Host header, so a server bound to 127.0.0.1 would refuse
/// a Prometheus that scrapes <c>localhost:8081</c>; this listener registers both names for loopback.
/// </summary>
public sealed class MetricsListener : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CollectorRegistry _registry;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    /// <summary>Prepares the listener; nothing is bound until <see cref="Start"/>.</summary>
    public MetricsListener(ListenAddress address, CollectorRegistry registry)
    {
        _registry = registry;
        foreach (var host in address.HostPrefixes())
        {
            _listener.Prefixes.Add($"http://{host}:{address.Port}/metrics/");
            _listener.Prefixes.Add($"http://{host}:{address.Port}/healthz/");
        }
    }

    /// <summary>Binds the port (throws <see cref="HttpListenerException"/> when it is taken) and serves.</summary>
    public void Start()
    {
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested || !_listener.IsListening)
            {
                return;
            }
            catch (HttpListenerException)
            {
                continue;
            }
            _ = Task.Run(() => RespondAsync(context));
        }
    }

    private async Task RespondAsync(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            var path = context.Request.Url?.AbsolutePath.TrimEnd('/') ?? "";
            if (context.Request.HttpMethod is not ("GET" or "HEAD"))
            {
                response.StatusCode = 405;
            }
            else if (path == "/metrics")
            {
                response.StatusCode = 200;
                response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                using var buffer = new MemoryStream();
                await _registry.CollectAndExportAsTextAsync(buffer, _stop.Token).ConfigureAwait(false);
                response.ContentLength64 = buffer.Length;
                buffer.Position = 0;
                await buffer.CopyToAsync(response.OutputStream, _stop.Token).ConfigureAwait(false);
            }
            else if (path == "/healthz")
            {
                response.StatusCode = 200;
                response.ContentType = "text/plain";
                await response.OutputStream.WriteAsync("ok\n"u8.ToArray(), _stop.Token).ConfigureAwait(false);
            }
            else
            {
                response.StatusCode = 404;
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (HttpListenerException)
        {
            // The scraper hung up; nothing to answer.
        }
        catch (IOException)
        {
        }
        finally
        {
            try { response.Close(); } catch (ObjectDisposedException) { } catch (HttpListenerException) { }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stop.Cancel();
        if (_listener.IsListening) _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
