using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using RestSharp;
using Scraper.Domain;

namespace Scraper.Exchange;

/// <summary>
/// The Upbit REST client (RestSharp over one pooled <see cref="HttpClient"/>). Every call sends
/// exactly one HTTP request and turns whatever happens into an <see cref="ExchangeResponse{T}"/>;
/// only the caller's cancellation throws. Requests are signed with the Upbit JWT whenever keys are
/// configured, never carry an Origin header, and their bodies are read up to
/// <see cref="UpbitClientOptions.MaxResponseBytes"/> within <see cref="UpbitClientOptions.RequestTimeout"/>.
/// </summary>
internal sealed partial class UpbitClient : IUpbitClient, IDisposable
{
    /// <summary>The largest <c>count</c> the candle endpoints accept.</summary>
    public const int MaxCandleCount = 200;

    private const int MaxDetailText = 600;
    private const int MaxSnippetBytes = 16 * 1024;

    private readonly UpbitClientOptions _options;
    private readonly Uri _baseUrl;
    private readonly TimeProvider _time;
    private readonly UpbitTokenFactory? _tokens;
    private readonly RestClient _rest;

    /// <summary>Creates a client; dispose it to close its connections.</summary>
    public UpbitClient(UpbitClientOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(options.BaseUrl);
        if (!options.BaseUrl.IsAbsoluteUri) throw new ArgumentException("BaseUrl must be absolute", nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RequestTimeout, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.MaxResponseBytes, 0, nameof(options));
        _options = options;
        // Resources are relative ("v1/..."), so a base with a path prefix must end in '/' to keep it.
        _baseUrl = options.BaseUrl.AbsoluteUri.EndsWith('/') ? options.BaseUrl : new Uri(options.BaseUrl.AbsoluteUri + "/");
        _time = time;
        _tokens = options.Credentials is null ? null : new UpbitTokenFactory(options.Credentials);

        // Timeouts are ours (one budget for headers and body, measured on the injected clock), so both
        // HttpClient's and RestSharp's are switched off; redirects would be a second request.
#pragma warning disable CA2000 // the HttpClient owns the handler and the RestClient owns the HttpClient
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.All,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            // Well below common server keep-alive timeouts (60-75 s): fewer requests sent on a connection
            // the server is closing at that moment, which would fail since nothing is resent.
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(20),
        };
        SourceAddress.Bind(handler, options.BindAddress);
        WireTimer.Attach(handler);
        var http = new HttpClient(handler, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            MaxResponseContentBufferSize = Math.Min(options.MaxResponseBytes, int.MaxValue),
        };
#pragma warning restore CA2000
        _rest = new RestClient(http, new RestClientOptions(_baseUrl)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            UserAgent = options.UserAgent,
            FollowRedirects = false,
            ThrowOnAnyError = false,
            SetErrorExceptionOnUnsuccessfulStatusCode = false,
        }, disposeHttpClient: true);
    }

    /// <inheritdoc />
    public Task<ExchangeResponse<IReadOnlyList<Candle>>> GetCandlesAsync(CandleQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentException.ThrowIfNullOrWhiteSpace(query.Market, nameof(query));
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Count, 1, nameof(query));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(query.Count, MaxCandleCount, nameof(query));
        return SendAsync("v1/candles/" + query.Unit.PathSegment, BuildCandleQuery(query),
            body => (UpbitJsonCandles.Read(body, query, out var candles), candles), cancellationToken);
    }

    /// <inheritdoc />
    public Task<ExchangeResponse<IReadOnlyList<Ticker>>> GetTickersAsync(IReadOnlyList<string> markets, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(markets);
        if (markets.Count == 0 || markets.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("expected one or more non-empty market codes", nameof(markets));
        var query = "markets=" + string.Join(',', markets.Select(Uri.EscapeDataString));
        return SendAsync("v1/ticker", query, Items<Ticker>(e => UpbitJson.ReadTicker(e, markets)), cancellationToken);
    }

    /// <inheritdoc />
    public Task<ExchangeResponse<IReadOnlyList<string>>> GetMarketsAsync(CancellationToken cancellationToken) =>
        SendAsync("v1/market/all", null, Items<string>(UpbitJson.ReadMarketCode), cancellationToken);

    /// <inheritdoc />
    public Task<ExchangeResponse<IReadOnlyList<Account>>> GetAccountsAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_tokens is null)
        {
            return Task.FromResult(new ExchangeResponse<IReadOnlyList<Account>>(ExchangeOutcome.Permanent, null, null, null,
                TimeSpan.Zero, "no_credentials", "GET /v1/accounts needs an access key and a secret key; none are configured"));
        }
        return SendAsync("v1/accounts", null, Items<Account>(UpbitJson.ReadAccount), cancellationToken);
    }

    /// <summary>
    /// The candle query string exactly as sent and hashed: <c>market=KRW-BTC&amp;to=2025-06-24T04%3A56%3A00Z&amp;count=200</c>.
    /// </summary>
    public static string BuildCandleQuery(CandleQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var to = query.To.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"market={Uri.EscapeDataString(query.Market)}&to={Uri.EscapeDataString(to)}&count={query.Count}");
    }

    /// <inheritdoc />
    public void Dispose() => _rest.Dispose();

    /// <summary>Reads a body that is a JSON array item by item.</summary>
    private static Func<ReadOnlyMemory<byte>, (string? Error, List<T> Items)> Items<T>(Func<System.Text.Json.JsonElement, (T? Item, string? Error)> readItem)
        where T : class =>
        body => (UpbitJson.ReadArray(body, readItem, out var items), items);

    /// <summary>One request, with its timing on the connection (the limiter places its arrival by it).</summary>
    private async Task<ExchangeResponse<IReadOnlyList<T>>> SendAsync<T>(
        string path, string? query, Func<ReadOnlyMemory<byte>, (string? Error, List<T> Items)> readBody, CancellationToken cancellationToken)
        where T : class
    {
        var wire = WireTimer.Start(_time);
        var response = await SendUntimedAsync(path, query, readBody, cancellationToken);
        return response with { Wire = wire.Measure() };
    }

    private async Task<ExchangeResponse<IReadOnlyList<T>>> SendUntimedAsync<T>(
        string path, string? query, Func<ReadOnlyMemory<byte>, (string? Error, List<T> Items)> readBody, CancellationToken cancellationToken)
        where T : class
    {
        cancellationToken.ThrowIfCancellationRequested();
        var resource = query is null ? path : path + "?" + query;
        var token = _tokens?.CreateToken(query);
        var call = new Call(this, "GET /" + resource, _time.GetUtcNow(), _time.GetTimestamp(), token);
        // Disposed when this call returns: what it returns was read out of the body by then.
        using var capture = new BoundedResponseCapture(new Uri(_baseUrl, resource), token, _options.MaxResponseBytes);
        var request = new RestRequest(resource)
        {
            CompletionOption = HttpCompletionOption.ResponseHeadersRead,
            Interceptors = [capture],
        };

        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        RestResponse? response = null;
        Exception? failure;
        try
        {
            response = await _rest.ExecuteAsync(request, linked.Token);
            failure = response.ErrorException;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            failure = e;
        }
        cancellationToken.ThrowIfCancellationRequested();

        if (capture.StatusCode is not { } status)
        {
            if (timeout.IsCancellationRequested)
                return call.Fail<IReadOnlyList<T>>(ExchangeOutcome.Transient, "timeout", null, null, $"no response within {Seconds(_options.RequestTimeout)}");
            return call.Fail<IReadOnlyList<T>>(ExchangeOutcome.Transient, "connection", null, null, Describe(failure ?? response?.ErrorException));
        }

        var code = (int)status;
        call.Date = capture.Date;
        var remaining = RemainingRequests.Parse(capture.RemainingHeader);
        if (code is >= 200 and < 300)
        {
            if (capture.BodyTooLarge)
                return call.Fail<IReadOnlyList<T>>(ExchangeOutcome.Transient, "body_too_large", code, remaining, $"body larger than {_options.MaxResponseBytes} bytes, abandoned");
            if (capture.Body is not { } body)
            {
                if (timeout.IsCancellationRequested)
                    return call.Fail<IReadOnlyList<T>>(ExchangeOutcome.Transient, "timeout", code, remaining, $"body not complete within {Seconds(_options.RequestTimeout)}");
                return call.Fail<IReadOnlyList<T>>(ExchangeOutcome.Transient, "malformed_body", code, remaining, "body ended early: " + Describe(capture.BodyError ?? failure));
            }
            if (capture.MediaType is { } mediaType && !IsJson(mediaType))
                return call.Fail<IReadOnlyList<T>>(ExchangeOutcome.Transient, "malformed_body", code, remaining, $"content type {mediaType} is not JSON: {Snippet(body)}");
            var (error, items) = readBody(body);
            if (error is not null)
                return call.Fail<IReadOnlyList<T>>(ExchangeOutcome.Transient, "malformed_body", code, remaining, error);
            var elapsed = call.Elapsed();
            return new ExchangeResponse<IReadOnlyList<T>>(ExchangeOutcome.Success, items, code, remaining, elapsed, Date: call.ExchangeDate(elapsed));
        }

        var exchangeError = capture.Body is { } errorBody ? UpbitJson.TryReadError(errorBody) ?? Snippet(errorBody) : "(no body)";
        var detail = $"HTTP {code}: {exchangeError}";
        return code switch
        {
            429 => call.Fail<IReadOnlyList<T>>(ExchangeOutcome.RateLimited, "rate_limited", code, remaining, detail),
            418 => call.Fail<IReadOnlyList<T>>(ExchangeOutcome.Banned, "banned", code, remaining, detail, BlockDuration(capture, exchangeError)),
            >= 500 => call.Fail<IReadOnlyList<T>>(ExchangeOutcome.Transient, HttpReason(code), code, remaining, detail),
            _ => call.Fail<IReadOnlyList<T>>(ExchangeOutcome.Permanent, HttpReason(code), code, remaining, detail),
        };
    }

    private static string HttpReason(int code) => "http_" + code.ToString(CultureInfo.InvariantCulture);

    private static bool IsJson(string mediaType) =>
        mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);

    /// <summary>From Retry-After, else from "N seconds"/"N초" (or minutes/분) in the error text; null when neither says.</summary>
    private TimeSpan? BlockDuration(BoundedResponseCapture capture, string errorText)
    {
        if (capture.RetryAfter?.Delta is { } delta) return delta;
        if (capture.RetryAfter?.Date is { } date)
        {
            // Both on the exchange's clock when it sent its Date; ours may be off by minutes.
            var left = date - (capture.Date ?? _time.GetUtcNow());
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
        var match = DurationInText().Match(errorText);
        if (!match.Success || !long.TryParse(match.Groups["n"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var amount)) return null;
        return match.Groups["minutes"].Success ? TimeSpan.FromMinutes(amount) : TimeSpan.FromSeconds(amount);
    }

    [GeneratedRegex(@"(?<n>\d{1,9})\s*(?:(?<minutes>minutes?\b|mins?\b|분)|seconds?\b|secs?\b|초|s\b)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DurationInText();

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    private static string Describe(Exception? e)
    {
        if (e is null) return "no response";
        var parts = new StringBuilder();
        for (var current = e; current is not null; current = current.InnerException)
        {
            if (parts.Length > 0) parts.Append(" <- ");
            parts.Append(current.GetType().Name);
            if (current is HttpRequestException { HttpRequestError: not HttpRequestError.Unknown } h) parts.Append('(').Append(h.HttpRequestError).Append(')');
            if (current is SocketException s) parts.Append('(').Append(s.SocketErrorCode).Append(')');
            parts.Append(": ").Append(current.Message);
        }
        return parts.ToString();
    }

    /// <summary>The start of a body as text; long enough that secrets are scrubbed whole before the detail is cut.</summary>
    private static string Snippet(ReadOnlyMemory<byte> body) =>
        body.Length == 0 ? "(empty body)" : Encoding.UTF8.GetString(body.Span[..Math.Min(body.Length, MaxSnippetBytes)]);

    /// <summary>What one call knows for its values: the request line, its start, the exchange's Date and the secrets to scrub.</summary>
    private sealed class Call(UpbitClient client, string requestLine, DateTimeOffset startWallTime, long startTimestamp, string? token)
    {
        /// <summary>The response's Date header, once the headers are in.</summary>
        public DateTimeOffset? Date { get; set; }

        /// <summary>Measured on the monotonic clock: a step of the wall clock mid-request does not change it.</summary>
        public TimeSpan Elapsed() => client._time.GetElapsedTime(startTimestamp);

        public ExchangeDate? ExchangeDate(TimeSpan elapsed) => Date is { } date ? new ExchangeDate(date, startWallTime + elapsed / 2) : null;

        public ExchangeResponse<TValue> Fail<TValue>(ExchangeOutcome outcome, string reason, int? status,
            RemainingRequests? remaining, string detail, TimeSpan? blockDuration = null)
            where TValue : class
        {
            var elapsed = Elapsed();
            return new(outcome, null, status, remaining, elapsed, reason, Scrub(requestLine + " -> " + detail), blockDuration, ExchangeDate(elapsed));
        }

        // Details go to logs: whatever the server echoes back, neither key nor the token (nor any of
        // its segments: the payload carries the access key) leaves here. Scrubbed before it is cut.
        private string Scrub(string text)
        {
            var credentials = client._options.Credentials;
            IEnumerable<string?> secrets = [token, .. token?.Split('.') ?? [], credentials?.SecretKey, credentials?.AccessKey];
            foreach (var secret in secrets)
            {
                if (!string.IsNullOrEmpty(secret)) text = text.Replace(secret, "***", StringComparison.Ordinal);
            }
            var clean = new StringBuilder(Math.Min(text.Length, MaxDetailText + 1));
            foreach (var c in text.AsSpan(0, Math.Min(text.Length, MaxDetailText))) clean.Append(char.IsControl(c) ? ' ' : c);
            return text.Length > MaxDetailText ? clean.Append('…').ToString() : clean.ToString();
        }
    }
}
