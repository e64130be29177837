using System.Globalization;
using Scraper.Tests.FakeExchange;

namespace Scraper.Tests.Integration;

/// <summary>
/// The daemon (`run`, candle backfill and the ticker both busy) against an exchange that blocks the
/// whole IP: one 418 must stop every group until the block ends (one log line, not one per group),
/// and only one probing request may go out then.
/// </summary>
public sealed class IpBlockDaemonTests() : FakeExchangeTest(new FakeExchangeOptions { NoTradeProbability = 0 })
{
    private static readonly TimeSpan Block = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_418_stops_every_group_until_the_block_ends_so_only_requests_already_on_their_way_meet_it()
    {
        var port = ScraperProcess.FreePort();
        var since = DateTimeOffset.UtcNow.AddDays(-30).UtcDateTime.ToString("o", CultureInfo.InvariantCulture);
        using var daemon = DaemonHarness.Start(Exchange, Db, port, "KRW-BTC", since, ["--ticker-interval", "1s"]);
        await DaemonHarness.WaitForMetricsAsync(daemon, port,
            _ => Exchange.Requests.Count(r => r.Path == "/v1/ticker" && r.Status == 200) >= 2
                 && Exchange.Requests.Count(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal) && r.Status == 200) >= 10,
            TimeSpan.FromSeconds(30), "send candle and ticker requests");

        // The block starts with a ticker request that is alone on the wire, well after the last
        // candle slice and well before the next: on an idle host it is the only 418.
        DateTimeOffset? blockedAt = null;
        Exchange.Options.BlockTrigger = r =>
        {
            if (blockedAt is not null || r.Path != "/v1/ticker") return null;
            var requests = Exchange.Requests;
            var lastCandle = requests.Where(x => x.Path.StartsWith("/v1/candles", StringComparison.Ordinal)).Max(x => x.CountedAt);
            if (requests.Count(x => x.Status == 0) != 1 || r.CountedAt - lastCandle < TimeSpan.FromMilliseconds(250) || r.CountedAt - lastCandle > TimeSpan.FromMilliseconds(800)) return null;
            blockedAt = r.CountedAt;
            return Block;
        };
        bool AnsweredAfterBlock(string path) =>
            blockedAt is { } at && Exchange.Requests.Count(r => r.Path.StartsWith(path, StringComparison.Ordinal) && r.Status == 200 && r.At > at + Block) >= 3;
        await DaemonHarness.WaitForMetricsAsync(daemon, port, _ => AnsweredAfterBlock("/v1/ticker") && AnsweredAfterBlock("/v1/candles"),
            TimeSpan.FromSeconds(60), "resume both groups after the block");

        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));
        var blockLines = daemon.Stderr.Split('\n').Where(l => l.Contains("the exchange blocked this IP", StringComparison.Ordinal)).ToList();
        var banned = Exchange.Requests.Where(r => r.Status == 418).OrderBy(r => r.CountedAt)
            .Select(r => $"{(r.CountedAt - blockedAt!.Value).TotalMilliseconds:0} ms {r.CountedAt:HH:mm:ss.fff} {r.Path}").ToList();
        var why = $"{banned.Count} answers 418:\n{string.Join('\n', banned)}\n{string.Join('\n', blockLines)}";
        Assert.True(blockLines.Count == 1, why);
        // Requests already on their way when the daemon learnt of the block (a loaded host may take a
        // few hundred ms to read the first 418) meet it too; anything sent after it is the daemon's fault.
        var known = DateTimeOffset.ParseExact(blockLines[0][..24], "yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        Assert.True(Exchange.Requests.Where(r => r.Status == 418).All(r => r.CountedAt < known + TimeSpan.FromMilliseconds(1)), why);
    }
}
