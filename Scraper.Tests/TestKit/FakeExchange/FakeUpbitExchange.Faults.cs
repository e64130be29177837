using System.Text;
using Microsoft.AspNetCore.Http;

namespace Scraper.Tests.FakeExchange;

/// <summary>Injected faults (<see cref="FakeExchangeOptions.FaultInjector"/>): error statuses, hangs, wrong or damaged bodies.</summary>
public sealed partial class FakeUpbitExchange
{
    /// <summary>Answers with the injected fault instead of the page; false when the request goes on to be routed.</summary>
    private async Task<bool> RespondWithFaultAsync(HttpContext ctx, RecordedRequest record, FakeFault? fault)
    {
        switch (fault)
        {
            case FakeFault.Http500: await Error(ctx, record, 500, "internal", "internal error"); return true;
            case FakeFault.Http502: await Error(ctx, record, 502, "bad_gateway", "bad gateway"); return true;
            case FakeFault.Http503: await Error(ctx, record, 503, "unavailable", "service unavailable"); return true;
            case FakeFault.Http400: await Error(ctx, record, 400, "invalid_parameter", "bad request"); return true;
            case FakeFault.Http404: await Error(ctx, record, 404, "not_found", "not found"); return true;
            case FakeFault.Http429:
                Interlocked.Increment(ref _count429);
                await Error(ctx, record, 429, "too_many_requests", "Too many API requests.");
                return true;
            case FakeFault.Http418:
                Interlocked.Increment(ref _count418);
                ctx.Response.Headers["Retry-After"] = "2";
                await Error(ctx, record, 418, "blocked", "You have been blocked for 2 seconds");
                return true;
            case FakeFault.Hang:
                record.Status = 0;
                try { await Task.Delay(Timeout.Infinite, ctx.RequestAborted); } catch (OperationCanceledException) { }
                return true;
            case FakeFault.ErrorObjectInsteadOfArray:
                await Json(ctx, record, 200, """{"error":{"name":"server_error","message":"try later"}}""");
                return true;
            case FakeFault.WrongContentType:
                record.Status = 200;
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "text/html";
                await ctx.Response.WriteAsync("<html><body>maintenance</body></html>");
                return true;
            case FakeFault.HugeBody:
                record.Status = 200;
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "application/json";
                var chunk = Encoding.ASCII.GetBytes(new string(' ', 64 * 1024));
                await ctx.Response.Body.WriteAsync("["u8.ToArray(), ctx.RequestAborted);
                for (var i = 0; i < 1024 && !ctx.RequestAborted.IsCancellationRequested; i++)
                {
                    try { await ctx.Response.Body.WriteAsync(chunk, ctx.RequestAborted); } catch (Exception) { return true; }
                }
                return true;
        }
        return false;
    }

    /// <summary>Sends the routed page, or damages it in transit as the injected fault says.</summary>
    private static async Task SendBodyAsync(HttpContext ctx, RecordedRequest record, FakeFault? fault, int status, string body)
    {
        switch (fault)
        {
            case FakeFault.TruncatedJson:
                await Json(ctx, record, status, body[..(body.Length / 2)]);
                return;
            case FakeFault.ResetMidBody:
                record.Status = status;
                var bytes = Encoding.UTF8.GetBytes(body);
                ctx.Response.StatusCode = status;
                ctx.Response.ContentType = "application/json; charset=utf-8";
                ctx.Response.ContentLength = bytes.Length;
                await ctx.Response.Body.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
                await ctx.Response.Body.FlushAsync();
                ctx.Abort();
                return;
            case FakeFault.SlowTrickle:
                record.Status = status;
                var all = Encoding.UTF8.GetBytes(body);
                ctx.Response.StatusCode = status;
                ctx.Response.ContentType = "application/json; charset=utf-8";
                ctx.Response.ContentLength = all.Length;
                for (var i = 0; i < all.Length; i += 4096)
                {
                    try
                    {
                        await ctx.Response.Body.WriteAsync(all.AsMemory(i, Math.Min(4096, all.Length - i)), ctx.RequestAborted);
                        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                        await Task.Delay(100, ctx.RequestAborted);
                    }
                    catch (OperationCanceledException) { return; }
                }
                return;
        }
        await Json(ctx, record, status, body);
    }
}
