using System.Diagnostics;
using System.Globalization;
using Scraper.Domain;
using Scraper.Storage.Sqlite;
using Scraper.Tests.FakeExchange;
using Xunit.Abstractions;

namespace Scraper.Tests.Integration;

/// <summary>
/// The real daemon following the issue's 400 markets × units 1, 3, 5, 15 (1,600 series) over the
/// fake's WebSocket through dropped messages, an abrupt disconnect, a silent stall and a refusing
/// server; at the end every reconciled interval is exactly what the fake's REST serves, so every
/// dropped stream message inside it was repaired. Both sides allow 100 candle requests/s instead of
/// the exchange's 10: the stream and its faults are under test, not the budget, and at 10/s the
/// backfill and the first reconciliation of 1,600 series alone would take over five minutes.
/// LIVE_SOAK_SECONDS lengthens each of the four phases (default 20 s) for a soak outside the suite.
/// </summary>
public sealed class LiveDaemonTests(ITestOutputHelper output) : FakeExchangeTest(new FakeExchangeOptions
{
    Markets = [.. Enumerable.Range(1, MarketCount).Select(i => $"KRW-L{i:000}")],
    CandleRequestsPerSecond = Rate,
})
{
    private const int MarketCount = 400;
    private const int Rate = 100;
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("LIVE_SOAK_SECONDS"), out var s) ? s : 20);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500); // a scrape of 1,600 series is large
    private static readonly int[] Units = [1, 3, 5, 15];

    [Fact]
    public async Task Following_400_markets_through_drops_disconnects_stalls_and_refusals_ends_exact_against_the_exchange()
    {
        var started = Stopwatch.StartNew();
        Exchange.Stream.Options.DropProbability = 0.2;
        var markets = Exchange.Options.Markets.ToList();
        var port = ScraperProcess.FreePort();
        var since = DateTimeOffset.UtcNow.AddMinutes(-40); // one window per series, and a closed 15-minute interval to cover
        using var daemon = DaemonHarness.Start(Exchange, Db, port, string.Join(',', markets), since.ToString("o", CultureInfo.InvariantCulture),
            ["--units", "1,3,5,15", "--reconcile-every", "30s", "--stream-ping", "1s", "--rate", Rate.ToString(CultureInfo.InvariantCulture), "--ticker-interval", "1h"]);
        await DaemonHarness.WaitForFollowingAsync(daemon, port, markets, TimeSpan.FromSeconds(120), every: Poll);
        await DaemonHarness.WaitForMetricsAsync(daemon, port, x => DaemonHarness.Sample(x, "scraper_stream_connections") == 1, TimeSpan.FromSeconds(30), "connect the stream", Poll);
        var startup = started.Elapsed;

        var clock = Stopwatch.StartNew();
        var followedFrom = DateTimeOffset.UtcNow;
        await Task.Delay(Phase);
        var disconnected = DateTimeOffset.UtcNow;
        Exchange.Stream.DisconnectAll();
        await DaemonHarness.WaitForMetricsAsync(daemon, port, x => DaemonHarness.Sum(x, "scraper_stream_disconnects_total", "aborted") >= 1, TimeSpan.FromSeconds(20), "notice the disconnect", Poll);
        await Task.Delay(Phase);
        var stalled = DateTimeOffset.UtcNow;
        Exchange.Stream.Options.StallAfter = TimeSpan.Zero; // the open connection goes silent now
        await DaemonHarness.WaitForMetricsAsync(daemon, port, x => DaemonHarness.Sum(x, "scraper_stream_disconnects_total", "dead") >= 1, TimeSpan.FromSeconds(20), "notice the stall", Poll);
        Exchange.Stream.Options.RefuseUntil = DateTimeOffset.UtcNow.AddSeconds(3);
        Exchange.Stream.Options.StallAfter = null;
        await Task.Delay(Phase);
        var faultsEnd = DateTimeOffset.UtcNow;
        await Task.Delay(Phase);
        // Everything until the last fault is reconciled once coverage passes it, and at least one
        // interval whose stream message was dropped lies inside what is reconciled.
        double CoveredUntil(string x, string market) => DaemonHarness.Sample(x, $"scraper_covered_until_timestamp_seconds{{market=\"{market}\",unit=\"1\"}}") ?? 0;
        var metrics = await DaemonHarness.WaitForMetricsAsync(daemon, port, x =>
                markets.All(mk => CoveredUntil(x, mk) >= faultsEnd.ToUnixTimeSeconds() - 60)
                && Exchange.Stream.Dropped.Any(d => d.Unit.Minutes == 1 && (d.Start + d.Unit.Interval).ToUnixTimeSeconds() <= CoveredUntil(x, d.Code)),
            TimeSpan.FromSeconds(120), "reconcile past the faults and past a dropped message", Poll);
        var followed = clock.Elapsed;
        var followedTo = DateTimeOffset.UtcNow;
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));

        var lag = HistogramQuantiles(metrics, "scraper_live_lag_seconds");
        int Rest(DateTimeOffset from, DateTimeOffset to) => CandleRequests().Count(r => r.At >= from && r.At < to);
        var periodic = Units.Sum(u => MarketCount * 60 / (30.0 * u));
        output.WriteLine($"live: {MarketCount} markets x {Units.Length} units, start-up (backfill of 40 min at {Rate}/s) {startup.TotalSeconds:0} s, followed {followed.TotalSeconds:0} s, test {started.Elapsed.TotalSeconds:0} s");
        output.WriteLine($"stream: {Exchange.Stream.Sent} messages sent, {Exchange.Stream.Dropped.Count} candle updates dropped; reconciliation found {DaemonHarness.Sum(metrics, "scraper_live_reconcile_missing_candles_total"):0} candles the stream had not delivered; "
                         + $"{Exchange.Stream.Accepted} connections accepted, {Exchange.Stream.Refused} refused");
        output.WriteLine($"live lag p50 <= {lag.P50} s, p99 <= {lag.P99} s, max <= {lag.Max} s");
        output.WriteLine($"REST candle requests while following: {Rest(followedFrom, followedTo) / (followedTo - followedFrom).TotalMinutes:0}/min (periodic reconciliation every 30 s per minute of unit: {periodic:0}/min; "
                         + $"polling would need {MarketCount * Units.Sum(u => 1.0 / u):0}/min); in the {Phase.TotalSeconds:0} s before the disconnect {Rest(followedFrom, disconnected)}, "
                         + $"after it {Rest(disconnected, disconnected + Phase)}, after the stall {Rest(stalled, stalled + Phase)}");

        var now = Exchange.Now;
        var dropped = Exchange.Stream.Dropped;
        var repaired = 0;
        using (var store = SqliteCandleStore.Open(Db, TimeProvider.System, readOnly: true))
        {
            foreach (var market in markets)
            {
                foreach (var unit in Units.Select(CandleUnit.FromMinutes))
                {
                    var key = new SeriesKey(market, unit);
                    var coverage = store.GetCoverage(key);
                    Assert.True(coverage.Count == 1, $"{key}: covered {string.Join(", ", coverage)} after following since {since:HH:mm:ss}");
                    var range = coverage[0];
                    Assert.Equal(unit.AlignDown(since), range.Start);
                    var expected = Exchange.Data.ClosedCandles(market, unit, range.Start, range.End, now);
                    Assert.Equal(expected, store.ReadCandles(key, range.Start, range.End).ToList());
                    repaired += dropped.Count(d => d.Code == market && d.Unit == unit && d.Start < range.End);
                }
            }
        }
        output.WriteLine($"{repaired} dropped candle updates lay inside the reconciled ranges: all repaired (the store is exact there)");
        Assert.True(repaired > 0, "no dropped stream message fell inside the reconciled range");
    }

    [Fact]
    public async Task When_the_stream_cannot_be_established_the_minute_series_are_polled_and_the_fallback_is_visible()
    {
        Exchange.Stream.Options.RefuseAll = true; // a proxy that blocks WebSocket
        var port = ScraperProcess.FreePort();
        using var daemon = DaemonHarness.Start(Exchange, Db, port, "KRW-L001,KRW-L002", DateTimeOffset.UtcNow.AddHours(-1).ToString("o", CultureInfo.InvariantCulture),
            ["--units", "1,5"]);
        var metrics = await DaemonHarness.WaitForMetricsAsync(daemon, port,
            x => DaemonHarness.Sample(x, "scraper_live_fallback") == 1 && DaemonHarness.Sum(x, "scraper_live_reconcile_passes_total", "poll") >= 1,
            TimeSpan.FromSeconds(90), "fall back to polling");
        Assert.True(DaemonHarness.Sum(metrics, "scraper_stream_disconnects_total", "refused") >= 3);
        Assert.Equal(0, DaemonHarness.Sample(metrics, "scraper_stream_connections"));
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));
        Assert.Contains("polling the minute series by REST", daemon.Stdout + daemon.Stderr, StringComparison.Ordinal);
    }

    private List<RecordedRequest> CandleRequests() => [.. Exchange.Requests.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal))];

    /// <summary>Upper bucket bounds holding 50 %, 99 % and 100 % of the observations.</summary>
    private static (string P50, string P99, string Max) HistogramQuantiles(string metrics, string name)
    {
        var buckets = metrics.Split('\n').Where(l => l.StartsWith(name + "_bucket{", StringComparison.Ordinal))
            .Select(l => (Le: l[(l.IndexOf("le=\"", StringComparison.Ordinal) + 4)..l.LastIndexOf('"')], Count: double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))
            .ToList();
        var total = buckets.Count == 0 ? 0 : buckets[^1].Count;
        string At(double q) => total == 0 ? "n/a" : buckets.First(b => b.Count >= q * total).Le;
        return (At(0.5), At(0.99), At(1));
    }
}
