namespace Scraper.Exchange.Streaming;

/// <summary>How the quotation stream connects, keeps alive and reconnects; defaults follow the exchange's limits.</summary>
internal sealed record StreamOptions
{
    /// <summary>ws:// or wss:// address of /websocket/v1.</summary>
    public required Uri Url { get; init; }

    /// <summary>The local address connections leave from (--bind-address); null: the system's choice.</summary>
    public System.Net.IPAddress? BindAddress { get; init; }

    /// <summary>How often a text PING is sent: well inside the exchange's 120 s idle timeout.</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A connection that receives nothing (not even the PING's answer) for this long is dead.</summary>
    public TimeSpan DeadAfter { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>How long the connect and upgrade may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The first reconnect waits about this long; every failed attempt doubles it.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between attempts: how often a blocked stream is tried again.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>(type, code) pairs per connection; more open further connections.</summary>
    public int MaxPairsPerConnection { get; init; } = 10_000;

    /// <summary>Between opening the connections of a split subscription (the exchange allows 5 connects/s per IP).</summary>
    public TimeSpan ConnectSpacing { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The stream address of an exchange base URL: http→ws, https→wss, path /websocket/v1.</summary>
    public static Uri UrlFor(Uri baseUrl)
    {
        var builder = new UriBuilder(baseUrl) { Scheme = baseUrl.Scheme == Uri.UriSchemeHttps ? "wss" : "ws", Path = "/websocket/v1" };
        if (builder.Uri.IsDefaultPort) builder.Port = -1;
        return builder.Uri;
    }
}
