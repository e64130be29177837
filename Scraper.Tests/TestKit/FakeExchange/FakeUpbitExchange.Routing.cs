using System.Globalization;
using Microsoft.AspNetCore.Http;
using Scraper.Domain;

namespace Scraper.Tests.FakeExchange;

/// <summary>The pages: markets, ticker, accounts and candles (`to` exclusive, count 1-200), as the exchange has them at a given instant.</summary>
public sealed partial class FakeUpbitExchange
{
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

    private sealed class BadRequest(int status, string name, string message) : Exception(message)
    {
        public int Status { get; } = status;
        public string Name { get; } = name;
    }
}
