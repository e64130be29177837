using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Scraper.Tests.Metrics;

/// <summary>What came back on one raw connection, and whether the server closed it in time.</summary>
/// <param name="Text">Every byte received before the close, the reset or the deadline.</param>
/// <param name="Closed">True when the server closed (FIN or reset) before the deadline.</param>
/// <param name="Elapsed">From the first byte sent to the close or the deadline.</param>
public sealed record RawAnswer(string Text, bool Closed, TimeSpan Elapsed)
{
    /// <summary>The status code of the first line, or 0 when there is none.</summary>
    public int Status =>
        Text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && Text.Length >= 12 && int.TryParse(Text.AsSpan(9, 3), out var s) ? s : 0;

    /// <inheritdoc />
    public override string ToString() => $"{(Closed ? "closed" : "still open")} after {Elapsed.TotalMilliseconds:0} ms: {Text[..Math.Min(Text.Length, 300)]}";
}

/// <summary>HTTP by hand, for requests no client library sends: bare LF, half-sent or oversized heads.</summary>
public static class RawHttp
{
    /// <summary>
    /// Sends <paramref name="request"/> in one write, then reads until the server closes or
    /// <paramref name="deadline"/> passes. A reset after the answer still keeps the bytes read
    /// before it: a server that refuses a request with unread bytes behind it resets the
    /// connection, and the answer it wrote first is what the caller wants to see.
    /// </summary>
    public static async Task<RawAnswer> SendAsync(int port, string request, TimeSpan deadline)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        var started = Stopwatch.StartNew();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        return await ReadToCloseAsync(stream, started, deadline);
    }

    /// <summary>Reads until the peer closes or resets, or until the deadline.</summary>
    public static async Task<RawAnswer> ReadToCloseAsync(NetworkStream stream, Stopwatch started, TimeSpan deadline)
    {
        using var cts = new CancellationTokenSource(deadline - started.Elapsed);
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        var closed = false;
        try
        {
            while (true)
            {
                var n = await stream.ReadAsync(buffer, cts.Token);
                if (n == 0) { closed = true; break; }
                received.Write(buffer, 0, n);
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            closed = true;
        }
        return new RawAnswer(Encoding.ASCII.GetString(received.ToArray()), closed, started.Elapsed);
    }
}
