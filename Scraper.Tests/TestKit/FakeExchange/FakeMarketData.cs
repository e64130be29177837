using System.Globalization;
using Scraper.Domain;
using Scraper.Exchange;

namespace Scraper.Tests.FakeExchange;

/// <summary>
/// Deterministic market data: whether an interval has a candle and its values depend only on
/// (market, unit, start), so a test can ask for the exact candles the exchange serves.
/// </summary>
internal sealed class FakeMarketData(FakeExchangeOptions options)
{
    private static readonly TimeSpan Kst = TimeSpan.FromHours(9);

    private static ulong Hash(string market, CandleUnit unit, long startTicks, ulong salt)
    {
        var h = 1469598103934665603UL ^ salt;
        foreach (var c in market) h = (h ^ c) * 1099511628211UL;
        h = (h ^ (ulong)unit.Minutes) * 1099511628211UL;
        h = (h ^ (ulong)startTicks) * 1099511628211UL;
        h ^= h >> 29; h *= 0xBF58476D1CE4E5B9UL; h ^= h >> 32;
        return h;
    }

    private static decimal BasePrice(string market) => market switch
    {
        "KRW-BTC" => 96_123_000m,
        "KRW-ETH" => 4_812_000m,
        "BTC-ETH" => 0.03412345m,
        _ when market.StartsWith("BTC-", StringComparison.Ordinal) => 0.00012345m,
        _ => 1_234.5m,
    };

    /// <summary>True when the interval starting at <paramref name="start"/> had a trade.</summary>
    public bool HasTrade(string market, CandleUnit unit, DateTimeOffset start)
    {
        if (options.HistoryStart is { } h && start < h) return false;
        var p = unit.IsDay || unit.Minutes >= 60 ? options.NoTradeProbability / 10 : options.NoTradeProbability;
        return Hash(market, unit, start.UtcTicks, 1) % 10_000 >= (ulong)(p * 10_000);
    }

    /// <summary>The candle starting at <paramref name="start"/> as seen at <paramref name="now"/>; forming candles differ from their final values.</summary>
    public Candle? CandleAt(string market, CandleUnit unit, DateTimeOffset start, DateTimeOffset now)
    {
        if (start > now || !HasTrade(market, unit, start)) return null;
        var forming = start + unit.Interval > now;
        var h = Hash(market, unit, start.UtcTicks, 2);
        var basePrice = BasePrice(market);
        var scale = basePrice < 1 ? 8 : 1;
        decimal Price(int shift) => Math.Round(basePrice * (1m + ((long)((h >> shift) % 2001) - 1000) / 100_000m), scale);
        var open = Price(0);
        var close = Price(11);
        if (forming) close = Math.Round(close * (1m + (now.Second + 1) / 1_000_000m), scale);
        var high = Math.Max(Math.Max(open, close), Price(22));
        var low = Math.Min(Math.Min(open, close), Price(33));
        var volume = Math.Round(((h >> 40) % 100_000_000) / 1_000_000m + 0.00000001m, 8);
        var lastTrade = start + TimeSpan.FromTicks((long)((h >> 7) % (ulong)unit.Interval.Ticks));
        if (forming && lastTrade > now) lastTrade = now;
        var kst = (start + Kst).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
        return unit.IsDay
            ? new Candle(market, unit, start, kst, open, high, low, close, lastTrade.ToUnixTimeMilliseconds(), Math.Round(volume * close, 8), volume,
                PrevClosingPrice: open, ChangePrice: close - open, ChangeRate: Math.Round((close - open) / open, 10))
            : new Candle(market, unit, start, kst, open, high, low, close, lastTrade.ToUnixTimeMilliseconds(), Math.Round(volume * close, 8), volume);
    }

    /// <summary>Every closed candle with start in [from, to), oldest first: the test oracle.</summary>
    public IReadOnlyList<Candle> ClosedCandles(string market, CandleUnit unit, DateTimeOffset from, DateTimeOffset to, DateTimeOffset now)
    {
        var list = new List<Candle>();
        for (var t = unit.AlignDown(from); t < to; t += unit.Interval)
        {
            if (t + unit.Interval > now) break;
            if (CandleAt(market, unit, t, now) is { } c) list.Add(c);
        }
        return list;
    }

    /// <summary>The ticker of a market at <paramref name="now"/>.</summary>
    public Ticker TickerFor(string market, DateTimeOffset now)
    {
        var unit = CandleUnit.FromMinutes(1);
        var start = unit.AlignDown(now);
        var c = CandleAt(market, unit, start, now) ?? CandleAt(market, unit, start - unit.Interval, now);
        var price = c?.TradePrice ?? BasePrice(market);
        return new Ticker(market, price, price, price, price, price, 0.0012m, 123.45678901m, 1234567890.5m, now.ToUnixTimeMilliseconds());
    }
}
