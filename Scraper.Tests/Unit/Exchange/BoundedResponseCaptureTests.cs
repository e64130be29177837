using System.Net;
using System.Text;
using Scraper.Exchange;

namespace Scraper.Tests.Exchange;

/// <summary>What the capture does with a body once its headers are in, seen without a server.</summary>
public sealed class BoundedResponseCaptureTests
{
    private static readonly Uri Somewhere = new("http://127.0.0.1/v1/candles/minutes/1");

    [Fact]
    public async Task A_body_read_within_the_limit_is_not_copied_again()
    {
        // A page of candles is about 60 KB, ten a second: a copy of each, kept only until it is parsed,
        // is most of what a backfill hands the garbage collector. The first reads pay for the pool.
        var page = Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Repeat("""{"market":"KRW-BTC","trade_price":96000000}""", 1500)) + "]");
        for (var i = 0; i < 3; i++) await ReadAsync(page);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var body = await ReadAsync(page);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(page, body);
        Assert.True(allocated < page.Length / 4, $"{allocated} bytes allocated reading a body of {page.Length}");
    }

    [Fact]
    public async Task The_body_is_released_once_and_is_gone_after_dispose()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent("[1,2]"u8.ToArray()) };
        var capture = new BoundedResponseCapture(Somewhere, null, 1024);
        await capture.AfterHttpRequest(response, CancellationToken.None);
        Assert.Equal("[1,2]"u8.ToArray(), capture.Body?.ToArray());

        capture.Dispose();
        capture.Dispose();

        Assert.Null(capture.Body);
    }

    /// <summary>Runs synchronously on this thread: the content is in memory.</summary>
    private static async Task<byte[]> ReadAsync(byte[] page)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(page) };
        using var capture = new BoundedResponseCapture(Somewhere, null, 1024 * 1024);
        await capture.AfterHttpRequest(response, CancellationToken.None);
        var body = capture.Body ?? throw new InvalidOperationException("no body");
        // Compared while the capture still holds it; the copy is the test's, outside the measured span below.
        return body.Length == page.Length && body.Span.SequenceEqual(page) ? page : body.ToArray();
    }
}
