using System.Diagnostics;
using System.Globalization;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Xunit.Abstractions;

namespace Scraper.Tests.Reliability;

/// <summary>A test that runs only under `./build.sh soak` (BITCOIN_PRICE_SCRAPER_SOAK=1): minutes, not seconds.</summary>
public sealed class SoakFactAttribute : FactAttribute
{
    /// <summary>Skips unless the soak run asked for it.</summary>
    public SoakFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_SOAK") != "1") Skip = "soak test: run ./build.sh soak";
    }
}

/// <summary>Load: many Prometheus scrapers, and many series followed for minutes.</summary>
public sealed class SoakTests(ITestOutputHelper output) : FakeExchangeTest
{

    private static string Markets(int n) => string.Join(',', Enumerable.Range(1, n).Select(i => $"KRW-C{i:000}"));

    /// <summary>Backfills 20 markets × 4 days (about 60 s at 10 requests/s) and returns the candle requests per second.</summary>
    private async Task<(double Rate, long Scrapes, long Failed)> BackfillRateAsync(string name, int scrapers)
    {
        var port = ScraperProcess.FreePort();
        Exchange.ClearRequests();
        using var daemon = DaemonHarness.Start(Exchange, Path.Combine(Dir, name + ".db"), port, Markets(20), "4d");
        await daemon.WaitForHealthyAsync(port, TimeSpan.FromSeconds(20));
        long scrapes = 0, failed = 0;
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, scrapers).Select(async _ =>
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var r = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/metrics"), stop.Token);
                    if (r.IsSuccessStatusCode) Interlocked.Increment(ref scrapes); else Interlocked.Increment(ref failed);
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref failed); // refused, reset, or no answer within 10 s
                    output.WriteLine($"scrape failed after {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s: {e.GetType().Name} {e.Message} {e.InnerException?.Message} {e.InnerException?.InnerException?.Message}");
                }
            }
        }).ToList();
        await DaemonHarness.WaitForFollowingAsync(daemon, port, ["KRW-C001", "KRW-C020"], TimeSpan.FromMinutes(3));
        await stop.CancelAsync();
        await Task.WhenAll(load);
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));
        foreach (var line in daemon.Stderr.Split('\n').Where(l => l.Contains("WARN", StringComparison.Ordinal) || l.Contains("ERROR", StringComparison.Ordinal)).Take(8))
            output.WriteLine($"{name} daemon: {line}");
        output.WriteLine($"{name}: {Exchange.Count429} 429s so far");

        var candles = Exchange.Requests.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)).OrderBy(r => r.At).ToList();
        var seconds = (candles[^1].At - candles[0].At).TotalSeconds;
        var rate = (candles.Count - 1) / seconds;
        output.WriteLine($"{name}: {ArrivalPace.Describe(Exchange, skip: 0)}");
        output.WriteLine($"{name}: {candles.Count} candle requests in {seconds:0.0} s = {rate:0.000}/s with {scrapers} scrapers ({scrapes} scrapes, {failed} failed)");
        if (!latencies.IsEmpty)
        {
            var sorted = latencies.Order().ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"scrape latency p50 {sorted[sorted.Count / 2]:0} ms, p99 {sorted[(int)(sorted.Count * 0.99)]:0} ms, max {sorted[^1]:0} ms"));
        }
        return (rate, scrapes, failed);
    }

    [SoakFact]
    public async Task Two_hundred_concurrent_scrapers_do_not_slow_the_backfill_and_every_scrape_answers()
    {
        var baseline = await BackfillRateAsync("baseline", scrapers: 0);
        var loaded = await BackfillRateAsync("loaded", scrapers: 200);

        Assert.Equal(0, loaded.Failed);
        Assert.True(loaded.Scrapes > 1000, $"only {loaded.Scrapes} scrapes");
        Assert.True(loaded.Rate >= baseline.Rate * 0.98, $"backfill slowed from {baseline.Rate:0.000}/s to {loaded.Rate:0.000}/s under scraping");
        Assert.Equal(0, Exchange.Count429);
    }

    [SoakFact]
    public async Task Following_50_markets_by_3_units_keeps_memory_and_descriptors_flat_within_the_rate()
    {
        var minutes = double.Parse(Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_SOAK_MINUTES") ?? "10", CultureInfo.InvariantCulture);
        var port = ScraperProcess.FreePort();
        using var daemon = DaemonHarness.Start(Exchange, Path.Combine(Dir, "follow.db"), port, Markets(50), "30m", ["--units", "1,5,15"]);
        await daemon.WaitForHealthyAsync(port, TimeSpan.FromSeconds(20));
        await DaemonHarness.WaitForFollowingAsync(daemon, port, ["KRW-C001", "KRW-C050"], TimeSpan.FromMinutes(3), unit: "15");

        var samples = new List<(TimeSpan At, long RssKb, int Fds)>();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromMinutes(minutes))
        {
            var status = await File.ReadAllLinesAsync($"/proc/{daemon.Pid}/status");
            var rss = long.Parse(status.First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            samples.Add((sw.Elapsed, rss, Directory.GetFileSystemEntries($"/proc/{daemon.Pid}/fd").Length));
            output.WriteLine($"{sw.Elapsed:mm\\:ss} RSS {rss / 1024.0:0.0} MiB, {samples[^1].Fds} fds");
            await Task.Delay(TimeSpan.FromSeconds(30));
        }
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));

        // Connections open for a burst and close after 20 s idle, so both series oscillate: flat
        // means the peaks of the second half are no higher than those of the first.
        var first = samples.Take(samples.Count / 2).ToList();
        var second = samples.Skip(samples.Count / 2).ToList();
        Assert.True(second.Max(x => x.RssKb) <= first.Max(x => x.RssKb) * 1.10, $"RSS peak grew from {first.Max(x => x.RssKb)} kB to {second.Max(x => x.RssKb)} kB");
        Assert.True(second.Max(x => x.Fds) <= first.Max(x => x.Fds) + 5, $"descriptor peak grew from {first.Max(x => x.Fds)} to {second.Max(x => x.Fds)}");
        Assert.Equal(0, Exchange.Count429);
        var perSecond = Exchange.Requests.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal))
            .GroupBy(r => r.CountedAt.ToUnixTimeSeconds()).Max(g => g.Count());
        Assert.True(perSecond <= 10, $"{perSecond} candle requests counted in one second");
    }
}
