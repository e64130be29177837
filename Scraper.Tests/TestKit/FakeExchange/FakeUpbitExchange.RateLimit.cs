namespace Scraper.Tests.FakeExchange;

/// <summary>The rate limit: requests counted per group in a sliding (or fixed) window, 429 over it, 418 bans after repeated 429s.</summary>
public sealed partial class FakeUpbitExchange
{
    private readonly Dictionary<string, List<DateTimeOffset>> _arrivals = new();
    private readonly List<DateTimeOffset> _recent429 = [];
    private DateTimeOffset _bannedUntil = DateTimeOffset.MinValue;
    private int _bans;

    private static string GroupOf(string path) => path switch
    {
        _ when path.StartsWith("/v1/candles", StringComparison.Ordinal) => "candles",
        "/v1/ticker" => "ticker",
        "/v1/market/all" => "market",
        _ => "default",
    };

    /// <summary>Counts the request for its group and source IP; decides 429/418.</summary>
    private (bool Allowed, int Remaining, TimeSpan? Banned) Count(string group, string sourceIp)
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
            if (!_arrivals.TryGetValue($"{sourceIp} {group}", out var arrivals)) _arrivals[$"{sourceIp} {group}"] = arrivals = [];
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
}
