using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Scraper.Domain;
using Scraper.Exchange;

namespace Scraper.Tests.FakeExchange;

/// <summary>
/// A fake Upbit exchange: a real Kestrel server on 127.0.0.1 (random port) that behaves like the
/// exchange described in shared/upbit-api.md — candles with `to` exclusive and minutes without
/// trades, the ticker, accounts behind a verified JWT, Remaining-Req, 429 on a sliding (or fixed)
/// window, 418 bans, network latency and arrival jitter, and injectable faults.
/// </summary>
public sealed class FakeUpbitExchange : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly Dictionary<string, List<DateTimeOffset>> _arrivals = new();
    private readonly List<DateTimeOffset> _recent429 = [];
    private readonly HashSet<string> _nonces = [];
    private readonly object _gate = new();
    private readonly Random _jitter;
    private DateTimeOffset _bannedUntil = DateTimeOffset.MinValue;
    private int _bans;
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
    public FakeMarketData Data { get; }

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

    private static string GroupOf(string path) => path switch
    {
        _ when path.StartsWith("/v1/candles", StringComparison.Ordinal) => "candles",
        "/v1/ticker" => "ticker",
        "/v1/market/all" => "market",
        _ => "default",
    };

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
        var record = new RecordedRequest(Options.Time.GetUtcNow(), path, query, ctx.Request.Headers.ContainsKey("Authorization"), hasOrigin);
        _requests.Enqueue(record);
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
        var (allowed, remaining, banned) = Count(group);
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
        switch (fault)
        {
            case FakeFault.Http500: await Error(ctx, record, 500, "internal", "internal error"); return;
            case FakeFault.Http502: await Error(ctx, record, 502, "bad_gateway", "bad gateway"); return;
            case FakeFault.Http503: await Error(ctx, record, 503, "unavailable", "service unavailable"); return;
            case FakeFault.Http400: await Error(ctx, record, 400, "invalid_parameter", "bad request"); return;
            case FakeFault.Http404: await Error(ctx, record, 404, "not_found", "not found"); return;
            case FakeFault.Http429:
                Interlocked.Increment(ref _count429);
                await Error(ctx, record, 429, "too_many_requests", "Too many API requests.");
                return;
            case FakeFault.Http418:
                Interlocked.Increment(ref _count418);
                ctx.Response.Headers["Retry-After"] = "2";
                await Error(ctx, record, 418, "blocked", "You have been blocked for 2 seconds");
                return;
            case FakeFault.Hang:
                record.Status = 0;
                try { await Task.Delay(Timeout.Infinite, ctx.RequestAborted); } catch (OperationCanceledException) { }
                return;
            case FakeFault.ErrorObjectInsteadOfArray:
                await Json(ctx, record, 200, """{"error":{"name":"server_error","message":"try later"}}""");
                return;
            case FakeFault.WrongContentType:
                record.Status = 200;
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "text/html";
                await ctx.Response.WriteAsync("<html><body>maintenance</body></html>");
                return;
            case FakeFault.HugeBody:
                record.Status = 200;
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "application/json";
                var chunk = Encoding.ASCII.GetBytes(new string(' ', 64 * 1024));
                await ctx.Response.Body.WriteAsync("["u8.ToArray(), ctx.RequestAborted);
                for (var i = 0; i < 1024 && !ctx.RequestAborted.IsCancellationRequested; i++)
                {
                    try { await ctx.Response.Body.WriteAsync(chunk, ctx.RequestAborted); } catch (Exception) { return; }
                }
                return;
        }

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

    /// <summary>Counts the request for its group; decides 429/418.</summary>
    private (bool Allowed, int Remaining, TimeSpan? Banned) Count(string group)
    {
        var now = Options.Time.GetUtcNow();
        lock (_gate)
        {
            if (now < _bannedUntil) return (false, 0, _bannedUntil - now);
            var limit = group switch
            {
                "candles" => Options.CandleRequestsPerSecond,
                "ticker" or "market" => Options.TickerRequestsPerSecond,
                "origin" => 1,
                _ => Options.ExchangeRequestsPerSecond,
            };
            var window = group == "origin" ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(1);
            if (!_arrivals.TryGetValue(group, out var arrivals)) _arrivals[group] = arrivals = [];
            switch (Options.RateLimit)
            {
                case RateLimitMode.None:
                    return (true, limit, null);
                case RateLimitMode.FixedBucket:
                    var bucket = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % window.Ticks), TimeSpan.Zero);
                    arrivals.RemoveAll(t => t < bucket);
                    break;
                default:
                    arrivals.RemoveAll(t => t <= now - window);
                    break;
            }
            if (arrivals.Count >= limit)
            {
                _recent429.RemoveAll(t => t < now - TimeSpan.FromSeconds(60));
                _recent429.Add(now);
                if (_recent429.Count >= Options.BanAfter429s)
                {
                    _bans++;
                    _bannedUntil = now + Options.BanDuration * Math.Pow(2, _bans - 1);
                    _recent429.Clear();
                }
                return (false, 0, null);
            }
            arrivals.Add(now);
            return (true, limit - arrivals.Count, null);
        }
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static void SetDate(HttpContext ctx, DateTimeOffset now) =>
        ctx.Response.Headers.Date = now.UtcDateTime.ToString("r", CultureInfo.InvariantCulture);

    private (int Status, string Body) Route(HttpContext ctx, string path, FakeFault? fault, DateTimeOffset now)
    {
        var q = ctx.Request.Query;
        if (ctx.Request.Headers.TryGetValue("Authorization", out var auth)) VerifyJwt(auth.ToString(), ctx.Request.QueryString.HasValue ? ctx.Request.QueryString.Value![1..] : null);

        if (path == "/v1/market/all")
            return (200, JsonArray(Options.Markets, (w, m) => { w.WriteString("market", m); w.WriteString("korean_name", m); w.WriteString("english_name", m); }));
        if (path == "/v1/ticker")
        {
            var markets = (q["markets"].ToString()).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (markets.Length == 0) throw new BadRequest(400, "invalid_parameter", "markets is required");
            foreach (var m in markets) if (!Options.Markets.Contains(m)) throw new BadRequest(404, "not_found", $"Code not found: {m}");
            return (200, JsonArray(markets.Select(m => Data.TickerFor(m, now)), WriteTicker));
        }
        if (path == "/v1/accounts")
        {
            if (Options.AccessKey is null) throw new BadRequest(401, "no_authorization_token", "no keys configured on the fake");
            if (!ctx.Request.Headers.ContainsKey("Authorization")) throw new BadRequest(401, "no_authorization_token", "Authorization header is missing");
            return (200, JsonArray(Options.Accounts, WriteAccount));
        }
        CandleUnit unit;
        if (path == "/v1/candles/days") unit = CandleUnit.Day;
        else if (path.StartsWith("/v1/candles/minutes/", StringComparison.Ordinal) && int.TryParse(path["/v1/candles/minutes/".Length..], out var minutes) && CandleUnit.MinuteUnits.Contains(minutes))
            unit = CandleUnit.FromMinutes(minutes);
        else throw new BadRequest(404, "not_found", "Not Found");

        var market = q["market"].ToString();
        if (!Options.Markets.Contains(market)) throw new BadRequest(400, "invalid_parameter", $"invalid market: {market}");
        var count = 1;
        if (q.ContainsKey("count") && (!int.TryParse(q["count"], out count) || count is < 1 or > 200))
            throw new BadRequest(400, "invalid_parameter", "count must be between 1 and 200");
        var to = now;
        if (q.ContainsKey("to") && !TryParseTo(q["to"].ToString(), out to))
            throw new BadRequest(400, "invalid_parameter", "invalid to");

        var candles = new List<Candle>();
        var end = unit.AlignDown(to) == to ? to : unit.AlignDown(to) + unit.Interval;
        // Candles strictly before `to`: the one containing `to` counts only if it starts before it.
        var cursor = unit.AlignDown(to - TimeSpan.FromTicks(1));
        if (Options.Count == CountSemantics.LastNIntervals)
        {
            for (var i = 0; i < count; i++, cursor -= unit.Interval)
                if (Data.CandleAt(market, unit, cursor, now) is { } c) candles.Add(c);
        }
        else
        {
            var floor = Options.HistoryStart ?? to - unit.Interval * (count * 20 + 200);
            for (; candles.Count < count && cursor >= floor; cursor -= unit.Interval)
                if (Data.CandleAt(market, unit, cursor, now) is { } c) candles.Add(c);
        }
        _ = end;
        if (fault == FakeFault.EmptyArray) candles.Clear();
        if (fault == FakeFault.DuplicateCandles) candles = [.. candles.SelectMany(c => new[] { c, c })];
        if (fault == FakeFault.CandlesOutsideWindow)
        {
            var before = unit.AlignDown(to - TimeSpan.FromTicks(1)) - unit.Interval * count;
            for (var i = 0; i < 3; i++, before -= unit.Interval)
                if (Data.CandleAt(market, unit, before, now) is { } c) candles.Add(c);
        }
        return (200, JsonArray(candles, WriteCandle));
    }

    private static bool TryParseTo(string text, out DateTimeOffset to) =>
        DateTimeOffset.TryParseExact(text, ["yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK"],
            CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out to);

    private void VerifyJwt(string header, string? rawQuery)
    {
        if (Options.SecretKey is null || Options.AccessKey is null) throw new BadRequest(401, "invalid_access_key", "no keys on the fake");
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal)) throw new BadRequest(401, "jwt_verification", "not a bearer token");
        var parts = header["Bearer ".Length..].Split('.');
        if (parts.Length != 3) throw new BadRequest(401, "jwt_verification", "malformed token");
        using var headerJson = JsonDocument.Parse(Base64Url(parts[0]));
        var alg = headerJson.RootElement.GetProperty("alg").GetString();
        var key = Encoding.UTF8.GetBytes(Options.SecretKey);
        var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        var expected = alg switch
        {
            "HS512" => HMACSHA512.HashData(key, signed),
            "HS256" => HMACSHA256.HashData(key, signed),
            _ => throw new BadRequest(401, "jwt_verification", $"unsupported alg {alg}"),
        };
        if (!CryptographicOperations.FixedTimeEquals(expected, Base64Url(parts[2]))) throw new BadRequest(401, "jwt_verification", "bad signature");
        using var payload = JsonDocument.Parse(Base64Url(parts[1]));
        var p = payload.RootElement;
        if (p.GetProperty("access_key").GetString() != Options.AccessKey) throw new BadRequest(401, "invalid_access_key", "unknown access key");
        var nonce = p.TryGetProperty("nonce", out var n) ? n.GetString() : null;
        lock (_gate)
        {
            if (string.IsNullOrEmpty(nonce) || !_nonces.Add(nonce)) throw new BadRequest(401, "nonce_used", "nonce missing or reused");
        }
        if (!string.IsNullOrEmpty(rawQuery))
        {
            var hash = Convert.ToHexStringLower(SHA512.HashData(Encoding.UTF8.GetBytes(rawQuery)));
            if (!p.TryGetProperty("query_hash", out var qh) || qh.GetString() != hash || !p.TryGetProperty("query_hash_alg", out var qa) || qa.GetString() != "SHA512")
                throw new BadRequest(401, "invalid_query_payload", "query_hash does not match the query");
        }
    }

    private static byte[] Base64Url(string s)
    {
        var padded = s.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - padded.Length % 4) % 4);
        return Convert.FromBase64String(padded);
    }

    private static string JsonArray<T>(IEnumerable<T> items, Action<Utf8JsonWriter, T> write)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartArray();
            foreach (var item in items)
            {
                w.WriteStartObject();
                write(w, item);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The fields a REST candle and a stream candle message share.</summary>
    internal static void WriteCandleValues(Utf8JsonWriter w, Candle c)
    {
        w.WriteString("candle_date_time_utc", c.StartUtc.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture));
        w.WriteString("candle_date_time_kst", c.StartKst);
        w.WriteNumber("opening_price", c.OpeningPrice);
        w.WriteNumber("high_price", c.HighPrice);
        w.WriteNumber("low_price", c.LowPrice);
        w.WriteNumber("trade_price", c.TradePrice);
        w.WriteNumber("timestamp", c.Timestamp);
        w.WriteNumber("candle_acc_trade_price", c.AccTradePrice);
        w.WriteNumber("candle_acc_trade_volume", c.AccTradeVolume);
    }

    private static void WriteCandle(Utf8JsonWriter w, Candle c)
    {
        w.WriteString("market", c.Market);
        WriteCandleValues(w, c);
        if (c.Unit.IsDay)
        {
            w.WriteNumber("prev_closing_price", c.PrevClosingPrice!.Value);
            w.WriteNumber("change_price", c.ChangePrice!.Value);
            w.WriteNumber("change_rate", c.ChangeRate!.Value);
        }
        else
        {
            w.WriteNumber("unit", c.Unit.Minutes);
        }
    }

    private static void WriteTicker(Utf8JsonWriter w, Ticker t)
    {
        w.WriteString("market", t.Market);
        w.WriteNumber("trade_price", t.TradePrice);
        w.WriteNumber("opening_price", t.OpeningPrice);
        w.WriteNumber("high_price", t.HighPrice);
        w.WriteNumber("low_price", t.LowPrice);
        w.WriteNumber("prev_closing_price", t.PrevClosingPrice);
        w.WriteString("change", "RISE");
        w.WriteNumber("change_rate", t.ChangeRate);
        w.WriteNumber("acc_trade_volume_24h", t.AccTradeVolume24h);
        w.WriteNumber("acc_trade_price_24h", t.AccTradePrice24h);
        w.WriteNumber("timestamp", t.Timestamp);
    }

    private static void WriteAccount(Utf8JsonWriter w, Account a)
    {
        w.WriteString("currency", a.Currency);
        w.WriteString("balance", a.Balance.ToString(CultureInfo.InvariantCulture));
        w.WriteString("locked", a.Locked.ToString(CultureInfo.InvariantCulture));
        w.WriteString("avg_buy_price", a.AvgBuyPrice.ToString(CultureInfo.InvariantCulture));
        w.WriteBoolean("avg_buy_price_modified", false);
        w.WriteString("unit_currency", a.UnitCurrency);
    }

    private static async Task Json(HttpContext ctx, RecordedRequest record, int status, string body)
    {
        record.Status = status;
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        try { await ctx.Response.WriteAsync(body, ctx.RequestAborted); } catch (OperationCanceledException) { }
    }

    private static Task Error(HttpContext ctx, RecordedRequest record, int status, string name, string message) =>
        Json(ctx, record, status, JsonSerializer.Serialize(new Dictionary<string, Dictionary<string, string>> { ["error"] = new() { ["name"] = name, ["message"] = message } }));

    private sealed class BadRequest(int status, string name, string message) : Exception(message)
    {
        public int Status { get; } = status;
        public string Name { get; } = name;
    }
}
