using Microsoft.AspNetCore.Http;
using Scraper.Exchange;
using Xunit.Abstractions;
using static Scraper.Tests.Exchange.ClientTestKit;

namespace Scraper.Tests.Exchange;

/// <summary>Allocation measurements must not share the process with other tests' allocations.</summary>
[CollectionDefinition(nameof(MeasuresAllocations), DisableParallelization = true)]
public sealed class MeasuresAllocations;

/// <summary>A body beyond MaxResponseBytes is abandoned without ever being held in memory.</summary>
[Collection(nameof(MeasuresAllocations))]
public sealed class UpbitClientBodyLimitTests(ITestOutputHelper output)
{
    private const int HugeBody = 64 * 1024 * 1024;
    private static readonly byte[] Filler = CreateFiller();

    private static byte[] CreateFiller()
    {
        var filler = new byte[64 * 1024];
        System.Array.Fill(filler, (byte)' ');
        return filler;
    }

    private static Func<HttpContext, Task> HugeJson(bool declareLength) => async context =>
    {
        context.Response.ContentType = "application/json";
        context.Response.Headers["Remaining-Req"] = "group=candles; min=1800; sec=9";
        if (declareLength) context.Response.ContentLength = HugeBody;
        try
        {
            for (var written = 0; written < HugeBody; written += Filler.Length)
                await context.Response.Body.WriteAsync(Filler, context.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client hung up, as it should.
        }
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SixtyFourMiBBody_IsBodyTooLarge_WithBoundedAllocations(bool declareLength)
    {
        await using var server = await LoopbackServer.StartAsync(HugeJson(declareLength));
        using var client = NewClient(server);
        // Warm up the connection pool and JIT so the measurement sees only the big response.
        await client.GetTickersAsync(["KRW-BTC"], CancellationToken.None);

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var response = await client.GetCandlesAsync(MinuteQuery, CancellationToken.None);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        output.WriteLine($"declared length: {declareLength}; allocated while answering a 64 MiB body: {allocated / 1024.0 / 1024.0:0.0} MiB");

        Assert.Equal(ExchangeOutcome.Transient, response.Outcome);
        Assert.Equal("body_too_large", response.FailureReason);
        Assert.Equal(200, response.StatusCode);
        Assert.Equal(new RemainingRequests("candles", 9), response.Remaining);
        // 4 MiB limit: a growing buffer costs about twice that; a buffered 64 MiB body could not fit.
        Assert.True(allocated < 16 * 1024 * 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public async Task BodyAtTheLimit_IsRead_AndOneByteMoreIsTooLarge()
    {
        var body = Array(MinuteCandle());
        var bytes = System.Text.Encoding.UTF8.GetByteCount(body);
        await using var server = await LoopbackServer.StartAsync(LoopbackServer.Json(200, body));

        using (var atLimit = NewClient(server, maxBytes: bytes))
            Assert.Equal(ExchangeOutcome.Success, (await atLimit.GetCandlesAsync(MinuteQuery, CancellationToken.None)).Outcome);
        using var belowLimit = NewClient(server, maxBytes: bytes - 1);
        var response = await belowLimit.GetCandlesAsync(MinuteQuery, CancellationToken.None);
        Assert.Equal("body_too_large", response.FailureReason);
        Assert.Equal(ExchangeOutcome.Transient, response.Outcome);
    }
}
