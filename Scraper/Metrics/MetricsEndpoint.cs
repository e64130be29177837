using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Prometheus;

namespace Scraper.Metrics;

/// <summary>
/// The two paths: <c>/metrics</c> (the registry, as OpenMetrics when the scraper prefers it, gzipped
/// when it accepts gzip) and <c>/healthz</c>, which renders nothing and so never waits for
/// /metrics. Every other path is 404; every method but GET and HEAD is 405. /metrics responses
/// take turns from <paramref name="turns"/>; a scrape that hangs up while waiting leaves the queue.
/// </summary>
internal sealed class MetricsEndpoint(MetricsRenderCache renders, ConnectionGate connections, RateLimiter turns)
{
    private const string TextContentType = "text/plain; version=0.0.4; charset=utf-8";
    private const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    private static readonly byte[] Ok = "ok\n"u8.ToArray();
    private static readonly byte[] NotFound = "not found: only /metrics and /healthz\n"u8.ToArray();
    private static readonly byte[] OnlyGet = "only GET and HEAD\n"u8.ToArray();
    private static readonly byte[] Busy = "too many scrapes waiting; retry\n"u8.ToArray();

    /// <summary>Answers one request.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        var connection = context.Connection.Id;
        connections.RequestStarted(connection);
        try
        {
            await AnswerAsync(context);
        }
        finally
        {
            connections.RequestEnded(connection);
        }
    }

    private async Task AnswerAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = request.Path.Value is { Length: > 1 } p ? p.TrimEnd('/') : request.Path.Value;
        if (path is not ("/metrics" or "/healthz"))
        {
            await WriteAsync(context, StatusCodes.Status404NotFound, "text/plain", NotFound);
            return;
        }
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.Headers.Allow = "GET, HEAD";
            await WriteAsync(context, StatusCodes.Status405MethodNotAllowed, "text/plain", OnlyGet);
            return;
        }
        if (path == "/healthz")
        {
            await WriteAsync(context, StatusCodes.Status200OK, "text/plain", Ok);
            return;
        }
        using var turn = await turns.AcquireAsync(1, context.RequestAborted);
        if (!turn.IsAcquired)
        {
            response.Headers.RetryAfter = "1";
            await WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "text/plain", Busy);
            return;
        }
        var openMetrics = PrefersOpenMetrics(request.Headers.Accept);
        var rendering = await renders.GetAsync(openMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText, context.RequestAborted);
        response.Headers.Vary = "Accept, Accept-Encoding";
        var body = rendering.Body;
        if (AcceptsGzip(request.Headers.AcceptEncoding))
        {
            response.Headers.ContentEncoding = "gzip";
            body = rendering.Gzipped;
        }
        await WriteAsync(context, StatusCodes.Status200OK, openMetrics ? OpenMetricsContentType : TextContentType, body);
    }

    private static async Task WriteAsync(HttpContext context, int status, string contentType, ReadOnlyMemory<byte> body)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(context.Request.Method)) await response.Body.WriteAsync(body, context.RequestAborted);
    }

    /// <summary>
    /// OpenMetrics when the Accept header ranks it at least as high as the text format (Prometheus
    /// asks for OpenMetrics first, with text as a fallback); the text format otherwise.
    /// </summary>
    internal static bool PrefersOpenMetrics(string? accept)
    {
        if (string.IsNullOrEmpty(accept) || !MediaTypeHeaderValue.TryParseList([accept], out var ranges)) return false;
        double openMetrics = 0, text = 0;
        foreach (var range in ranges)
        {
            var q = range.Quality ?? 1.0;
            if (range.MediaType.Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase)) openMetrics = Math.Max(openMetrics, q);
            else if (range.MediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase)) text = Math.Max(text, q);
        }
        return openMetrics > 0 && openMetrics >= text;
    }

    /// <summary>True when Accept-Encoding names gzip (or *) with a quality above zero.</summary>
    internal static bool AcceptsGzip(string? acceptEncoding)
    {
        if (string.IsNullOrEmpty(acceptEncoding) || !StringWithQualityHeaderValue.TryParseList([acceptEncoding], out var codings)) return false;
        return codings.Any(c => (c.Value.Equals("gzip", StringComparison.OrdinalIgnoreCase) || c.Value.Equals("*", StringComparison.Ordinal)) && (c.Quality ?? 1.0) > 0);
    }
}
