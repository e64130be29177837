using System.Globalization;
using System.Net;

namespace Scraper.Metrics;

/// <summary>Where the metrics endpoint listens: <c>HOST:PORT</c>, for example <c>0.0.0.0:8081</c> or <c>127.0.0.1:8081</c>.</summary>
internal sealed record ListenAddress(string Host, int Port)
{
    /// <summary>Parses HOST:PORT (IPv6 as [::1]:8081); null with <paramref name="error"/> set when malformed.</summary>
    public static ListenAddress? TryParse(string text, out string error)
    {
        error = "";
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = "expected HOST:PORT, e.g. 0.0.0.0:8081 or 127.0.0.1:8081";
            return null;
        }
        var host = text[..colon].Trim('[', ']');
        if (!int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            error = "expected a port from 1 to 65535";
            return null;
        }
        if (host is not ("localhost" or "*" or "+") && !IPAddress.TryParse(host, out _))
        {
            error = "expected an IP address (0.0.0.0 for all, 127.0.0.1 for loopback only) or localhost";
            return null;
        }
        return new ListenAddress(host, port);
    }

    /// <summary>True when only this machine can reach the endpoint.</summary>
    public bool IsLoopback => Host == "localhost" || (IPAddress.TryParse(Host, out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>The socket address to bind: 0.0.0.0 (or * and +) for every IPv4 address, :: for every address, localhost for 127.0.0.1.</summary>
    public IPEndPoint ToEndPoint() => new(
        Host switch
        {
            "0.0.0.0" or "*" or "+" => IPAddress.Any,
            "localhost" => IPAddress.Loopback,
            _ => IPAddress.Parse(Host),
        },
        Port);

    /// <inheritdoc />
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
