using System.Globalization;
using Scraper.Tests.Benchmarks;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.TestKit;
using Xunit.Abstractions;

namespace Scraper.Tests.Integration;

/// <summary>
/// The daemon backfilling one market and, beside it on the same machine, one or two manual
/// `backfill`s of other markets, all against one exchange with a strict sliding 1 s window. The
/// processes do not talk: each has only the exchange's answers (Remaining-Req, 429) to go by.
/// The exchange runs in a process of its own (<see cref="BenchExchange"/>), as a real one does. In
/// the test process it shares the thread pool with the other test classes: in a clean-clone CI run
/// (2026-12-01) it counted nine requests of all three processes in the same millisecond, most likely
/// after a stall of its own, and refused a request 37 ms later.
/// </summary>
public sealed class SharedIpTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private BenchExchange _exchange = null!;

    private string Dir => _dir.Path;

    /// <inheritdoc />
    public async Task InitializeAsync() => _exchange = await BenchExchange.StartSlidingAsync(TimeSpan.FromMilliseconds(20));

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await _exchange.DisposeAsync();
        _dir.Dispose();
    }

    private const string Skip = "issue 11 part 2: with the default --reserve-for-others 0 a process alone fills the window, so a newcomer's first requests are refused (a few 429s); no rule based on the exchange's answers alone avoids both that and the reserve's cost";

    // With the defaults: 2-4 x 429, 0 x 418.
    [Theory(Skip = Skip)]
    [InlineData(2)]
    [InlineData(3)]
    public Task Processes_on_one_IP_get_no_429_and_share_the_budget(int processes) => RunAsync(processes, []);

    [Fact]
    public Task With_one_place_reserved_two_processes_on_one_IP_get_no_429_and_share_the_budget() => RunAsync(2, ["--reserve-for-others", "1"]);

    // The two backfills start 3 s apart: one free place cannot take the first requests of two
    // processes that arrive before anyone can have seen the first (a window and a round trip).
    [Fact]
    public Task With_one_place_reserved_three_processes_on_one_IP_get_no_429_and_share_the_budget() => RunAsync(3, ["--reserve-for-others", "1"]);

    // A script's backfills one after another (or a restart): each process waits before it exits until
    // its requests have left the window, so the next one's first request finds none of them there
    // (neither refused nor taken for another client's, which would cut its share for two windows).
    [Fact]
    public async Task Backfills_one_after_another_each_find_the_window_clear_of_the_one_before()
    {
        var firsts = new List<DateTimeOffset>();
        foreach (var market in (string[])["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-BTC"])
        {
            var before = (await _exchange.RequestsAsync()).Count;
            using var p = ScraperProcess.Start(
                ["backfill", "--upbit-url", _exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Path.Combine(Dir, $"seq-{firsts.Count}.db"),
                 "--markets", market, "--since", DateTimeOffset.UtcNow.AddDays(-3).UtcDateTime.ToString("o", CultureInfo.InvariantCulture), "--log-level", "Warning"]);
            Assert.Equal(0, await p.WaitForExitAsync(TimeSpan.FromMinutes(1)));
            firsts.Add((await _exchange.RequestsAsync()).Skip(before).Min(r => r.CountedAt));
        }

        var counted = (await _exchange.RequestsAsync()).Where(r => r.Status == 200).ToList();
        var found = firsts.Skip(1).Select(first => counted.Count(r => r.CountedAt < first && r.CountedAt > first.AddSeconds(-1))).ToList();
        var (count429, _) = await _exchange.RefusalsAsync();
        output.WriteLine($"429: {count429}; requests of the process before in the window at each start: {string.Join(", ", found)}");
        Assert.Equal(0, count429);
        Assert.All(found, n => Assert.Equal(0, n));
    }

    private async Task RunAsync(int processes, string[] options)
    {
        var port = ScraperProcess.FreePort();
        string Since(int days) => DateTimeOffset.UtcNow.AddDays(-days).UtcDateTime.ToString("o", CultureInfo.InvariantCulture);
        using var daemon = DaemonHarness.Start(_exchange.BaseUrl, Path.Combine(Dir, "candles.db"), port, "KRW-BTC", Since(25), options);
        // At full speed: twenty pages of 200 candles stored.
        await DaemonHarness.WaitForMetricsAsync(daemon, port, m => DaemonHarness.Sum(m, "scraper_candles_stored_total") >= 20 * 200,
            TimeSpan.FromSeconds(30), "backfill at full speed");

        string[] others = ["KRW-ETH", "KRW-XRP"];
        var manual = new List<ScraperProcess>();
        foreach (var market in others.Take(processes - 1))
        {
            if (manual.Count > 0) await Task.Delay(TimeSpan.FromSeconds(3));
            manual.Add(ScraperProcess.Start(
                ["backfill", "--upbit-url", _exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Path.Combine(Dir, market + ".db"),
                 "--markets", market, "--since", Since(8), "--log-level", "Warning", .. options]));
        }
        foreach (var p in manual) Assert.Equal(0, await p.WaitForExitAsync(TimeSpan.FromMinutes(3)));
        await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10));
        foreach (var p in manual) p.Dispose();

        var candles = (await _exchange.RequestsAsync()).Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal) && r.Status != 0).ToList();
        string MarketOf(RecordedRequest r) => r.Query.Split('&').First(q => q.StartsWith("market=", StringComparison.Ordinal))[7..];
        var markets = (string[])["KRW-BTC", .. others.Take(processes - 1)];
        // While all run: from the last process's first request to the first process's last one.
        var from = markets.Max(m => candles.Where(r => MarketOf(r) == m).Min(r => r.At));
        var until = markets.Min(m => candles.Where(r => MarketOf(r) == m).Max(r => r.At));
        var overlap = candles.Where(r => r.At >= from && r.At <= until && r.Status == 200).ToList();
        var shares = markets.Select(m => (double)overlap.Count(r => MarketOf(r) == m) / overlap.Count).ToList();
        var (count429, count418) = await _exchange.RefusalsAsync();
        output.WriteLine($"429: {count429}, 418: {count418}; overlap {(until - from).TotalSeconds:0.0} s, {overlap.Count} requests; shares {string.Join(", ", shares.Select(s => s.ToString("P0", CultureInfo.InvariantCulture)))}");

        // Each refusal with the ten requests counted before it: which process filled the window.
        foreach (var refused in candles.Where(r => r.Status == 429))
        {
            var before = candles.Where(r => r.Status == 200 && r.CountedAt <= refused.CountedAt && r.CountedAt > refused.CountedAt.AddSeconds(-1)).OrderBy(r => r.CountedAt);
            output.WriteLine($"429 {MarketOf(refused)} at {refused.CountedAt:HH:mm:ss.fff} after: {string.Join(", ", before.Select(r => $"{MarketOf(r)[4..]} {(r.CountedAt - refused.CountedAt).TotalMilliseconds:0}"))}");
        }

        Assert.Equal(0, count418);
        Assert.Equal(0, count429);
        var (low, high) = processes == 2 ? (0.35, 0.65) : (0.20, 0.46);
        Assert.All(shares, s => Assert.InRange(s, low, high));
    }
}
