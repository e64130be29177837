using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using RestSharp.Interceptors;

namespace Scraper.Exchange;

/// <summary>
/// Per-request RestSharp interceptor. Before sending it pins the exact URI, strips any Origin header
/// and signs the request; after the headers arrive it reads the body itself, never more than the
/// limit, and hands RestSharp an empty body. RestSharp's own reader would buffer a body of any
/// size, so the limit has to be enforced here, between the headers and the body; and the client reads
/// only <see cref="Body"/>, so RestSharp's copies of it (bytes and decoded text) would be garbage.
/// The body stays in the buffer it was read into, usually a pooled one, until the capture is disposed.
/// </summary>
internal sealed class BoundedResponseCapture(Uri exactUri, string? authorization, long maxBytes) : Interceptor, IDisposable
{
    private const int FirstBufferBytes = 128 * 1024;
    private const int MaxInitialCapacity = 1024 * 1024;

    // A pool of its own: the shared pool keeps returned arrays per thread, and a response's
    // continuations rarely run on the thread that rented, so most rents there would miss.
    private static readonly ArrayPool<byte> Buffers = ArrayPool<byte>.Create(MaxInitialCapacity, 8);

    /// <summary>Status, headers and content type, once the response headers arrived.</summary>
    public HttpStatusCode? StatusCode { get; private set; }

    /// <summary>The Remaining-Req header value, if any.</summary>
    public string? RemainingHeader { get; private set; }

    /// <summary>The Date header (the exchange's clock, whole seconds), if any.</summary>
    public DateTimeOffset? Date { get; private set; }

    /// <summary>The Retry-After header, if any.</summary>
    public RetryConditionHeaderValue? RetryAfter { get; private set; }

    /// <summary>The response's media type, if it declared one.</summary>
    public string? MediaType { get; private set; }

    /// <summary>The complete body; null unless it was read to the end within the limit, and after <see cref="Dispose"/>.</summary>
    public ReadOnlyMemory<byte>? Body { get; private set; }

    /// <summary>The pooled buffer <see cref="Body"/> is in, if it is in one.</summary>
    private byte[]? _pooled;

    /// <summary>True when the body was (or declared it would be) longer than the limit.</summary>
    public bool BodyTooLarge { get; private set; }

    /// <summary>Why the body could not be read to its end (cancellation, connection lost mid-body).</summary>
    public Exception? BodyError { get; private set; }

    public override ValueTask BeforeHttpRequest(HttpRequestMessage requestMessage, CancellationToken cancellationToken)
    {
        // The query string is hashed into the JWT: what goes on the wire must be exactly what was hashed.
        requestMessage.RequestUri = exactUri;
        // An Origin header puts the IP under a far stricter limit (1 request per 10 s).
        requestMessage.Headers.Remove("Origin");
        requestMessage.Headers.Accept.Clear();
        requestMessage.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (authorization is not null)
            requestMessage.Headers.Authorization = new AuthenticationHeaderValue("Bearer", authorization);
        // SocketsHttpHandler silently resends a request without content, up to three times, when the
        // server closes the connection before answering. An empty body (Content-Length: 0) turns that
        // off: one call is one request, and the pipeline does the retrying where it can count it.
        requestMessage.Content ??= new ByteArrayContent([]);
        return ValueTask.CompletedTask;
    }

    public override async ValueTask AfterHttpRequest(HttpResponseMessage responseMessage, CancellationToken cancellationToken)
    {
        StatusCode = responseMessage.StatusCode;
        RemainingHeader = responseMessage.Headers.TryGetValues("Remaining-Req", out var values) ? values.FirstOrDefault() : null;
        RetryAfter = responseMessage.Headers.RetryAfter;
        Date = responseMessage.Headers.Date;
        MediaType = responseMessage.Content.Headers.ContentType?.MediaType;

        var original = responseMessage.Content;
        try
        {
            var declared = original.Headers.ContentLength;
            if (declared > maxBytes)
            {
                BodyTooLarge = true;
                return;
            }
            await ReadBoundedAsync(original, declared, cancellationToken);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            BodyError = e;
        }
        finally
        {
            // Disposing an unread body aborts the connection instead of draining it.
            original.Dispose();
            responseMessage.Content = new ByteArrayContent([]);
        }
    }

    /// <summary>Gives the body's buffer back to the pool; the body must not be used after.</summary>
    public void Dispose()
    {
        Body = null;
        if (_pooled is { } buffer) Buffers.Return(buffer);
        _pooled = null;
    }

    private async Task ReadBoundedAsync(HttpContent content, long? declared, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        // The first buffer (one byte more than declared, so the end is seen without growing) comes
        // from a pool: the buffer a page of candles needs is past the large-object threshold, where one
        // grown afresh per response would be garbage. Growth past it is rare and is not pooled.
        var first = Buffers.Rent((int)Math.Min(declared + 1 ?? FirstBufferBytes, MaxInitialCapacity));
        var buffer = first;
        var length = 0;
        var kept = false;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = new byte[Math.Min((long)buffer.Length * 2, maxBytes + 1)];
                    buffer.AsSpan(0, length).CopyTo(larger);
                    buffer = larger;
                }
                var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    Body = buffer.AsMemory(0, length);
                    kept = buffer == first;
                    if (kept) _pooled = first;
                    return;
                }
                length += read;
                if (length > maxBytes)
                {
                    BodyTooLarge = true;
                    return;
                }
            }
        }
        finally
        {
            if (!kept) Buffers.Return(first);
        }
    }
}
