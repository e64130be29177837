using System.Globalization;
using Scraper.Tests.FakeExchange;

// The fake exchange in a process of its own. Arguments: latency-ms jitter-ms sliding|fixed|none
// error-rate. It prints "url http://127.0.0.1:PORT", then answers one command per stdin line:
// "clear" (forget the request log), "dump" (one line per request: received and counted unix ms,
// status, answered unix ms, path?query; then "end"), "stats" ("429 N 418 M"), "stream" ("sent N accepted MS,MS,...":
// stream messages sent, connections accepted at unix ms), "lastcandle" (unix ms of the last candle request, 0 if
// none); end of input stops it. FAKE_MARKETS=N lists N more markets, KRW-L001 to KRW-LNNN (a follower of many markets).
var latency = TimeSpan.FromMilliseconds(Arg(0, 0));
var jitter = TimeSpan.FromMilliseconds(Arg(1, 0));
var mode = args.Length > 2 ? args[2] switch { "fixed" => RateLimitMode.FixedBucket, "none" => RateLimitMode.None, _ => RateLimitMode.SlidingWindow } : RateLimitMode.SlidingWindow;
var errorRate = Arg(3, 0);
var random = new Random(5);
var extra = int.TryParse(Environment.GetEnvironmentVariable("FAKE_MARKETS"), out var n) ? n : 0;
var options = new FakeExchangeOptions
{
    Markets = [.. new FakeExchangeOptions().Markets, .. Enumerable.Range(1, extra).Select(i => $"KRW-L{i:000}")],
    Latency = latency, ArrivalJitter = jitter, RateLimit = mode, BanAfter429s = 10,
    FaultInjector = errorRate > 0 ? r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal) && random.NextDouble() < errorRate ? FakeFault.Http503 : null : null,
};
await using var exchange = await FakeUpbitExchange.StartAsync(options);
Console.Out.WriteLine("url " + exchange.BaseUrl.ToString().TrimEnd('/'));
Console.Out.Flush();
while (await Console.In.ReadLineAsync() is { } command)
{
    switch (command.Trim())
    {
        case "clear":
            exchange.ClearRequests();
            Console.Out.WriteLine("ok");
            break;
        case "dump":
            foreach (var r in exchange.Requests)
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.At.ToUnixTimeMilliseconds()} {r.CountedAt.ToUnixTimeMilliseconds()} {r.Status} {r.AnsweredAt.ToUnixTimeMilliseconds()} {r.Path}?{r.Query}"));
            Console.Out.WriteLine("end");
            break;
        case "stats":
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"429 {exchange.Count429} 418 {exchange.Count418}"));
            break;
        case "stream":
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sent {exchange.Stream.Sent} accepted {string.Join(',', exchange.Stream.AcceptedAt.Select(a => a.ToUnixTimeMilliseconds()))}"));
            break;
        case "lastcandle":
            var last = exchange.Requests.LastOrDefault(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal));
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{last?.At.ToUnixTimeMilliseconds() ?? 0}"));
            break;
        default:
            Console.Out.WriteLine("unknown command");
            break;
    }
    Console.Out.Flush();
}

double Arg(int i, double fallback) => args.Length > i ? double.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
