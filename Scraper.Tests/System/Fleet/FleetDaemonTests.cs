using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Scraper.Tests.TestKit;
using Xunit.Abstractions;

namespace Scraper.Tests.Fleet;

/// <summary>
/// Several real daemon binaries on 127.0.0.1, .2 and .3 sharing one real PostgreSQL database and
/// one fake exchange that limits each source IP: a scraper killed with SIGKILL leaves its windows
/// and the series it followed to the others (the rate they add up to: <see cref="FleetRateTests"/>).
/// </summary>
public sealed class FleetDaemonTests(ITestOutputHelper output) : PostgresExchangeTest(new FakeExchangeOptions { NoTradeProbability = 0 })
{
    private const string LeasePeriod = "2s";
    private static readonly string[] Addresses = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];

    private FleetRun Run => new(Server, Exchange, Dir, LeasePeriod);

    private (string Db, string PasswordFile) Connection(string database) => Run.Connection(database);

    private string[] FleetOptions(string database, string address) => Run.FleetOptions(database, address);

    private static string Iso(DateTimeOffset t) => FleetRun.Iso(t);

    private void VerifyExact(string database, IEnumerable<string> markets, DateTimeOffset since, DateTimeOffset end) => Run.VerifyExact(database, markets, since, end);

    [PostgresFact]
    public async Task A_scraper_killed_mid_backfill_leaves_its_windows_to_the_others_with_no_gap_and_no_duplicate()
    {
        var database = await Server.CreateDatabaseAsync();
        string[] markets = ["KRW-BTC", "KRW-ETH", "KRW-XRP"];
        var since = DateTimeOffset.UtcNow.AddDays(-20);
        var ports = Addresses.Select(_ => ScraperProcess.FreePort()).ToList();
        var scrapers = Addresses.Select((a, i) => DaemonHarness.Start(Exchange, Connection(database).Db, ports[i], string.Join(',', markets), Iso(since),
            FleetOptions(database, a))).ToList();
        try
        {
            var victim = scrapers[0];
            var before = await DaemonHarness.WaitForMetricsAsync(victim, ports[0],
                m => DaemonHarness.Sample(m, "scraper_fleet_windows_completed_total") >= 20 && DaemonHarness.Sample(m, "scraper_fleet_leases_held{kind=\"windows\"}") > 0,
                TimeSpan.FromSeconds(60), "complete 20 windows while holding chunks");
            victim.KillHard();
            var killedAt = DateTimeOffset.UtcNow;
            output.WriteLine($"killed {Addresses[0]} holding {DaemonHarness.Sample(before, "scraper_fleet_leases_held{kind=\"windows\"}")} chunks after {DaemonHarness.Sample(before, "scraper_fleet_windows_completed_total")} windows");

            // A scraper follows (holds follow leases) only once its backfill is done; each follows only its share.
            for (var i = 1; i < scrapers.Count; i++)
            {
                await DaemonHarness.WaitForMetricsAsync(scrapers[i], ports[i], m => DaemonHarness.Sample(m, "scraper_fleet_leases_held{kind=\"follow\"}") >= 1,
                    TimeSpan.FromSeconds(90), "finish the backfill and follow a series");
            }
            var after = await Task.WhenAll(ports.Skip(1).Select(DaemonHarness.ScrapeAsync));
            var takenOver = after.Sum(m => DaemonHarness.Sample(m, "scraper_fleet_leases_taken_over_total{kind=\"windows\"}") ?? 0);
            output.WriteLine($"the others took over {takenOver} chunks ({after.Sum(m => DaemonHarness.Sample(m, "scraper_fleet_windows_taken_over_total") ?? 0)} windows) and finished {(DateTimeOffset.UtcNow - killedAt).TotalSeconds:0.0} s after the kill");
            Assert.True(takenOver >= 1, string.Join("\n", after));
            Assert.Equal(0, Exchange.Count429);

            // Follow mode: every series is followed by exactly one of the two survivors.
            var follows = await DaemonHarness.WaitForMetricsAsync(scrapers[1], ports[1], m => true, TimeSpan.FromSeconds(5), "answer");
            var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
            double held;
            do
            {
                var scrapes = await Task.WhenAll(ports.Skip(1).Select(DaemonHarness.ScrapeAsync));
                held = scrapes.Sum(m => DaemonHarness.Sample(m, "scraper_fleet_leases_held{kind=\"follow\"}") ?? 0);
                if (held == markets.Length) break;
                await Task.Delay(200);
            }
            while (DateTimeOffset.UtcNow < deadline);
            Assert.True(held == markets.Length, follows);
            for (var i = 1; i < scrapers.Count; i++) Assert.Equal(0, await DaemonHarness.StopAsync(scrapers[i], TimeSpan.FromSeconds(20)));
        }
        finally
        {
            foreach (var scraper in scrapers) scraper.Dispose();
        }
        VerifyExact(database, markets, since, DateTimeOffset.UtcNow);
    }

    [PostgresFact]
    public async Task When_the_follower_of_a_series_dies_another_scraper_follows_it_within_about_one_lease_period()
    {
        var database = await Server.CreateDatabaseAsync();
        var ports = Addresses.Select(_ => ScraperProcess.FreePort()).ToList();
        // Polling (FleetLiveTests does the same with the stream).
        var scrapers = Addresses.Select((a, i) => DaemonHarness.Start(Exchange, Connection(database).Db, ports[i], "KRW-BTC,KRW-ETH,KRW-XRP", "2h",
            [.. FleetOptions(database, a), "--live", "poll"])).ToList();
        try
        {
            // Balanced: one series each.
            foreach (var (scraper, port) in scrapers.Zip(ports))
                await DaemonHarness.WaitForMetricsAsync(scraper, port, m => DaemonHarness.Sample(m, "scraper_fleet_leases_held{kind=\"follow\"}") == 1, TimeSpan.FromSeconds(60), "follow one series");

            scrapers[0].KillHard();
            var killed = System.Diagnostics.Stopwatch.StartNew();
            await DaemonHarness.WaitForMetricsAsync(scrapers[1], ports[1], _ => true, TimeSpan.FromSeconds(5), "answer");
            string[] markets = ["KRW-BTC", "KRW-ETH", "KRW-XRP"];
            bool OneFollowerEach(string[] scrapes) => markets.All(market => scrapes.Sum(m => DaemonHarness.Sample(m, $"scraper_following{{market=\"{market}\",unit=\"1\"}}")) == 1);
            double held;
            string[] scrapes;
            do
            {
                scrapes = await Task.WhenAll(ports.Skip(1).Select(DaemonHarness.ScrapeAsync));
                held = scrapes.Sum(m => DaemonHarness.Sample(m, "scraper_fleet_leases_held{kind=\"follow\"}") ?? 0);
                if (held == 3 && OneFollowerEach(scrapes)) break;
                await Task.Delay(100);
            }
            while (killed.Elapsed < TimeSpan.FromSeconds(20));
            output.WriteLine($"follow failover after SIGKILL: {killed.Elapsed.TotalSeconds:0.0} s with a lease period of {LeasePeriod}");
            Assert.Equal(3, held);
            Assert.True(OneFollowerEach(scrapes), "scraper_following is 1 on one survivor per series:\n" + string.Join("\n", scrapes));
            Assert.True(killed.Elapsed < TimeSpan.FromSeconds(2 * 1.5 + 1.5), $"failover took {killed.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            foreach (var scraper in scrapers) scraper.Dispose();
        }
    }
}
