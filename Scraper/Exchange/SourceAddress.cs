using System.Net;
using System.Net.Sockets;

namespace Scraper.Exchange;

/// <summary>
/// Connections that leave from a given local address (--bind-address): the exchange limits each
/// source IP, so scrapers on one multi-address host each use their own budget. Used by the REST
/// client and the stream alike.
/// </summary>
internal static class SourceAddress
{
    /// <summary>A handler whose connections are bound to <paramref name="local"/> when given.</summary>
    public static void Bind(SocketsHttpHandler handler, IPAddress? local)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (local is not null) handler.ConnectCallback = (context, ct) => ConnectFromAsync(local, context.DnsEndPoint, ct);
    }

    /// <summary>A connection whose socket is bound to <paramref name="local"/> before it connects.</summary>
    private static async ValueTask<Stream> ConnectFromAsync(IPAddress local, DnsEndPoint remote, CancellationToken ct)
    {
        var socket = new Socket(local.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(local, 0));
            await socket.ConnectAsync(remote, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
