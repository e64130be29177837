using System.Globalization;

namespace Scraper.Tests.FakeExchange;

/// <summary>How fast and how evenly requests reached the fake.</summary>
public static class ArrivalPace
{
    /// <summary>Requests per second as they arrived, first to last (in order of arrival); NaN for fewer than two.</summary>
    public static double Rate(IReadOnlyList<RecordedRequest> arrivals) =>
        arrivals.Count > 1 ? (arrivals.Count - 1) / (arrivals[^1].At - arrivals[0].At).TotalSeconds : double.NaN;

    /// <summary>
    /// p10, p50, p90 and max of the time ten consecutive candle requests took to be counted, after
    /// the first <paramref name="skip"/> (warm-up). 1,000 ms is a sliding window's floor.
    /// </summary>
    public static string Describe(FakeUpbitExchange exchange, int skip) => Describe(exchange.Requests, skip);

    /// <summary>The same, for requests recorded elsewhere (the fake in a process of its own).</summary>
    public static string Describe(IEnumerable<RecordedRequest> requests, int skip)
    {
        var counted = requests.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)).Select(r => r.CountedAt).Order().ToList();
        if (counted.Count < skip + 20) return "too few requests for pace statistics";
        var spans = Enumerable.Range(skip, counted.Count - skip - 10).Select(i => (counted[i + 10] - counted[i]).TotalMilliseconds).Order().ToList();
        double P(double q) => spans[(int)Math.Min(spans.Count - 1, q * spans.Count)];
        return string.Create(CultureInfo.InvariantCulture, $"span of 10 arrivals p10 {P(0.1):0} ms, p50 {P(0.5):0} ms, p90 {P(0.9):0} ms, max {spans[^1]:0} ms");
    }
}
