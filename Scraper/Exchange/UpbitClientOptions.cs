using System.Net;

namespace Scraper.Exchange;

/// <summary>How <see cref="UpbitClient"/> reaches the exchange.</summary>
internal sealed record UpbitClientOptions
{
    /// <summary>The default limit on a response body: a 200-candle page is about 60 KiB.</summary>
    public const long DefaultMaxResponseBytes = 4 * 1024 * 1024;

    /// <summary>Scheme and host of the REST API, for example https://api.upbit.com; paths start with v1/.</summary>
    public Uri BaseUrl { get; init; } = new("https://api.upbit.com");

    /// <summary>
    /// The whole budget of one request: connect, send, headers and the complete body. A server that
    /// hangs or trickles its body past this ends as a transient <c>timeout</c>.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A larger body is abandoned after this many bytes (transient <c>body_too_large</c>).</summary>
    public long MaxResponseBytes { get; init; } = DefaultMaxResponseBytes;

    /// <summary>The API keys; null when none are configured (quotation endpoints need none).</summary>
    public UpbitCredentials? Credentials { get; init; }

    /// <summary>
    /// The local address requests leave from (the exchange counts its limit per source IP); null:
    /// whatever the routing table picks.
    /// </summary>
    public IPAddress? BindAddress { get; init; }

    /// <summary>The User-Agent header sent with every request.</summary>
    public string UserAgent { get; init; } = "bitcoin-price-scraper/" + (typeof(UpbitClientOptions).Assembly.GetName().Version?.ToString(3) ?? "0");
}

