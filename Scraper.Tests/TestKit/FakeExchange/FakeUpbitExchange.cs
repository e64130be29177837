using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Scraper.Tests.FakeExchange;

/// <summary>
/// A fake Upbit exchange: a real Kestrel server on 127.0.0.1 (random port) that behaves like the
/// exchange described in shared/upbit-api.md — candles with `to` exclusive and minutes without
/// trades, the ticker, accounts behind a verified JWT, Remaining-Req, 429 on a sliding (or fixed)
/// window, 418 bans, network latency and arrival jitter, and injectable faults. This file: start,
/// stop and the way of a request; the parts are FakeUpbitExchange.Routing (pages),
/// .Responses (JSON), .RateLimit (429/418), .Faults and .Jwt.
/// </summary>
public sealed partial class FakeUpbitExchange : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly object _gate = new();
    private readonly Random _jitter;
    private int _count429;
    private int _count418;

    private FakeUpbitExchange(WebApplication app, FakeExchangeOptions options)
    {
        _app = app;
        Options = options;
        Data = new FakeMarketData(options);
        Stream = new FakeStreamServer(this);
        _jitter = new Random(options.JitterSeed);
    }

    /// <summary>Starts the exchange on 127.0.0.1 with a random port.</summary>
    public static async Task<FakeUpbitExchange> StartAsync(FakeExchangeOptions? options = null, CancellationToken ct = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MinResponseDataRate = null);
        var app = builder.Build();
        var exchange = new FakeUpbitExchange(app, options ?? new FakeExchangeOptions());
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        app.Run(exchange.HandleAsync);
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        exchange.BaseUrl = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return exchange;
    }

    /// <summary>http://127.0.0.1:PORT</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Behaviour; may be changed while running.</summary>
    public FakeExchangeOptions Options { get; }

    /// <summary>The deterministic market data it serves.</summary>
    internal FakeMarketData Data { get; }

    /// <summary>The WebSocket quotation stream at /websocket/v1.</summary>
    public FakeStreamServer Stream { get; }

    /// <summary>The exchange's own clock: <see cref="FakeExchangeOptions.Time"/> plus <see cref="FakeExchangeOptions.ClockOffset"/>.</summary>
    public DateTimeOffset Now => Options.Time.GetUtcNow() + Options.ClockOffset;

    /// <summary>Every request received so far.</summary>
    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>429 responses sent.</summary>
    public int Count429 => Volatile.Read(ref _count429);

    /// <summary>418 responses sent.</summary>
    public int Count418 => Volatile.Read(ref _count418);

    /// <summary>Forgets the request log.</summary>
    public void ClearRequests() => _requests.Clear();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2))) await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "/";
        if (path == "/websocket/v1" && ctx.WebSockets.IsWebSocketRequest)
        {
            await Stream.HandleAsync(ctx);
            return;
        }
        var query = ctx.Request.QueryString.HasValue ? ctx.Request.QueryString.Value![1..] : "";
        var hasOrigin = ctx.Request.Headers.ContainsKey("Origin");
        var record = new RecordedRequest(Options.Time.GetUtcNow(), path, query, ctx.Request.Headers.ContainsKey("Authorization"), hasOrigin)
            { SourceIp = ctx.Connection.RemoteIpAddress?.MapToIPv4().ToString() ?? "" };
        _requests.Enqueue(record);
        ctx.Response.OnCompleted(() =>
        {
            record.AnsweredAt = Options.Time.GetUtcNow();
            return Task.CompletedTask;
        });
        var group = hasOrigin ? "origin" : GroupOf(path);
        // Kestrel stamps Date from the system clock; the exchange's clock is ours to set.
        SetDate(ctx, Now);

        if (Options.ArrivalJitter > TimeSpan.Zero)
        {
            int ms;
            lock (_gate) ms = _jitter.Next(0, (int)Options.ArrivalJitter.TotalMilliseconds + 1);
            await Task.Delay(ms, ctx.RequestAborted);
        }
        record.CountedAt = Options.Time.GetUtcNow();
        if (Options.BlockTrigger?.Invoke(record) is { } blockFor)
        {
            lock (_gate) _bannedUntil = Max(_bannedUntil, record.CountedAt + blockFor);
        }
        var (allowed, remaining, banned) = Count(group, record.SourceIp);
        ctx.Response.Headers["Remaining-Req"] = $"group={group}; min=1800; sec={remaining}";
        if (Options.Latency > TimeSpan.Zero) await Task.Delay(Options.Latency, ctx.RequestAborted);

        if (banned is { } block)
        {
            Interlocked.Increment(ref _count418);
            var seconds = (int)Math.Ceiling(block.TotalSeconds);
            ctx.Response.Headers["Retry-After"] = seconds.ToString(CultureInfo.InvariantCulture);
            await Error(ctx, record, 418, "blocked", $"You have been blocked for {seconds} seconds");
            return;
        }
        if (!allowed)
        {
            Interlocked.Increment(ref _count429);
            await Error(ctx, record, 429, "too_many_requests", "Too many API requests.");
            return;
        }

        var fault = Options.FaultInjector?.Invoke(record);
        if (await RespondWithFaultAsync(ctx, record, fault)) return;

        string body;
        int status;
        try
        {
            // The page is what the exchange has at the time its Date header says.
            var now = Now;
            SetDate(ctx, now);
            (status, body) = Route(ctx, path, fault, now);
        }
        catch (BadRequest e)
        {
            await Error(ctx, record, e.Status, e.Name, e.Message);
            return;
        }

        await SendBodyAsync(ctx, record, fault, status, body);
    }

    private static void SetDate(HttpContext ctx, DateTimeOffset now) =>
        ctx.Response.Headers.Date = now.UtcDateTime.ToString("r", CultureInfo.InvariantCulture);
}
