using System.Diagnostics;
using System.Web;
using Npgsql;
using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Storage.Postgres;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Scraper.Tests.TestKit;
using Xunit.Abstractions;

namespace Scraper.Tests.Fleet;

/// <summary>
/// Three real daemons on 127.0.0.1, .2 and .3 following the fake's WebSocket stream into one real
/// PostgreSQL database: each series is written and reconciled by the one scraper that holds its
/// follow lease, and a scraper killed with SIGKILL leaves its series to another within about a lease period.
/// </summary>
public sealed class FleetLiveTests(ITestOutputHelper output) : PostgresExchangeTest(new FakeExchangeOptions { NoTradeProbability = 0 })
{
    private const string LeasePeriod = "2s";
    private static readonly string[] Addresses = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
    private static readonly string[] Markets = ["KRW-BTC", "KRW-ETH", "KRW-XRP"];
    private static readonly CandleUnit Minute = CandleUnit.FromMinutes(1);

    private FleetRun Run => new(Server, Exchange, Dir, LeasePeriod);

    private static string Following(string market) => $"scraper_following{{market=\"{market}\",unit=\"1\"}}";

    /// <summary>The candle requests among <paramref name="requests"/>, with their market.</summary>
    private static IEnumerable<(string Market, RecordedRequest Request)> CandleRequests(IEnumerable<RecordedRequest> requests) =>
        requests.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal))
            .Select(r => (HttpUtility.ParseQueryString(r.Query)["market"] ?? "", r));

    [PostgresFact]
    public async Task Three_scrapers_stream_each_series_from_its_one_follower_and_a_killed_ones_series_are_taken_over_within_about_a_lease_period()
    {
        var database = await Server.CreateDatabaseAsync();
        // Every forming candle on every tick: the last candle an heir kept of a series it gains, which
        // it writes at once, is then at most a tick old.
        Exchange.Stream.Options.UpdateProbability = 1;
        var since = DateTimeOffset.UtcNow.AddMinutes(-30);
        var ports = Addresses.Select(_ => ScraperProcess.FreePort()).ToList();
        var scrapers = Addresses.Select((a, i) => DaemonHarness.Start(Exchange, Run.Connection(database).Db, ports[i], string.Join(',', Markets), FleetRun.Iso(since),
            [.. Run.FleetOptions(database, a), "--live", "stream", "--reconcile-every", "20s", "--stream-ping", "1s", "--ticker-interval", "1h"])).ToList();
        try
        {
            // Balanced and streaming: every scraper has its stream connection and follows one series.
            var metrics = new string[scrapers.Count];
            for (var i = 0; i < scrapers.Count; i++)
            {
                metrics[i] = await DaemonHarness.WaitForMetricsAsync(scrapers[i], ports[i],
                    m => DaemonHarness.Sample(m, "scraper_stream_connections") == 1 && Markets.Sum(mk => DaemonHarness.Sample(m, Following(mk)) ?? 0) == 1,
                    TimeSpan.FromSeconds(60), "stream and follow one series");
            }
            metrics = await Task.WhenAll(ports.Select(DaemonHarness.ScrapeAsync));
            var owner = Markets.ToDictionary(mk => mk, mk => Addresses.Where((_, i) => DaemonHarness.Sample(metrics[i], Following(mk)) == 1).ToList());
            Assert.All(Markets, mk => Assert.Single(owner[mk]));

            // After a disconnect (a blip: no reconciliation of its own) every series is reconciled by its follower alone.
            var cut = Exchange.Requests.Count;
            Exchange.Stream.DisconnectAll();
            var reconnect = Stopwatch.StartNew();
            while (Markets.Any(mk => CandleRequests(Exchange.Requests.Skip(cut)).All(x => x.Market != mk)) && reconnect.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(100);
            await Task.Delay(TimeSpan.FromSeconds(2));
            var afterCut = CandleRequests(Exchange.Requests.Skip(cut)).ToList();
            output.WriteLine("after the disconnect, candle requests by market and source: " +
                             string.Join("; ", afterCut.GroupBy(x => (x.Market, x.Request.SourceIp)).Select(g => $"{g.Key.Market} from {g.Key.SourceIp}: {g.Count()}")));
            foreach (var market in Markets) Assert.Equal(owner[market], afterCut.Where(x => x.Market == market).Select(x => x.Request.SourceIp).Distinct().ToList());

            // SIGKILL the first: another scraper holds its series, reconciles it at once and stores its stream candles.
            var victim = Markets.Single(mk => owner[mk][0] == Addresses[0]);
            using var store = OpenReadOnly(database);
            await using var rows = NpgsqlDataSource.Create(Server.ConnectionString(database));
            var killedAt = DateTimeOffset.UtcNow;
            var clock = Stopwatch.StartNew();
            var beforeKill = Exchange.Requests.Count;
            scrapers[0].KillHard();
            var left = await FormingWritesAsync(rows, victim);
            int survivor;
            do
            {
                var scrapes = await Task.WhenAll(ports.Skip(1).Select(DaemonHarness.ScrapeAsync));
                survivor = Array.FindIndex(scrapes, m => DaemonHarness.Sample(m, Following(victim)) == 1);
                if (survivor >= 0) break;
                await Task.Delay(100);
            }
            while (clock.Elapsed < TimeSpan.FromSeconds(20));
            var leased = clock.Elapsed;
            Assert.True(survivor >= 0, $"no scraper follows {victim} {leased.TotalSeconds:0} s after the kill");
            var heir = survivor + 1;
            var (live, written) = await StoredLiveAfterAsync(rows, victim, left, killedAt, TimeSpan.FromSeconds(20));
            var reconciled = CandleRequests(Exchange.Requests.Skip(beforeKill)).FirstOrDefault(x => x.Market == victim).Request;
            var reconciledAfter = reconciled is null ? "never" : $"{(reconciled.At - killedAt).TotalSeconds:0.0} s";
            output.WriteLine($"after SIGKILL of {Addresses[0]} (lease period {LeasePeriod}): {Addresses[heir]} follows {victim} after {leased.TotalSeconds:0.0} s, " +
                             $"reconciled it after {reconciledAfter} (from {reconciled?.SourceIp}), stored its forming stream candle after {live.TotalSeconds:0.0} s " +
                             $"(its fetched_at {written.TotalSeconds:0.0} s after the kill)");
            Assert.NotNull(reconciled);
            Assert.Equal(Addresses[heir], reconciled.SourceIp);
            // A lease expires a period after its last renewal and is claimed within a third of a period; a busy machine adds seconds.
            Assert.True(reconciled.At - killedAt < TimeSpan.FromSeconds(2 * 1.5 + 1.5), $"reconciled after {reconciledAfter}");
            Assert.True(live < TimeSpan.FromSeconds(2 * 1.5 + 5), $"the stream candles were stored again after {live.TotalSeconds:0.0} s (followed after {leased.TotalSeconds:0.0} s, " +
                $"reconciled after {reconciledAfter}); the heir's log since the kill:\n{LinesSince(scrapers[heir].Stderr, killedAt)}");

            // Everything up to now is reconciled (every 20 s) and exactly the exchange's.
            var end = DateTimeOffset.UtcNow;
            await WaitForCoverageAsync(store, WindowPlanner.CoverableEnd(new SeriesKey(victim, Minute), end) - Minute.Interval, TimeSpan.FromSeconds(40));
            for (var i = 1; i < scrapers.Count; i++) Assert.Equal(0, await DaemonHarness.StopAsync(scrapers[i], TimeSpan.FromSeconds(20)));
            Assert.Equal(0, Exchange.Count429);
            Run.VerifyExact(database, Markets, since, end);
        }
        finally
        {
            foreach (var scraper in scrapers) scraper.Dispose();
        }
    }

    /// <summary>The lines of a daemon's log stamped at or after <paramref name="since"/> (each starts with its UTC instant).</summary>
    private static string LinesSince(string log, DateTimeOffset since) =>
        string.Join('\n', log.Split('\n').SkipWhile(l => !(l.Length > 24 && DateTimeOffset.TryParse(l[..24], System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var at) && at >= since)));

    private PostgresCandleStore OpenReadOnly(string database) =>
        PostgresCandleStore.Open(PostgresConnectionSettings.Parse(Server.ConnectionString(database)), TimeProvider.System, new PostgresStoreOptions { ReadOnly = true });

    /// <summary>
    /// How long after the kill (seen by this loop, and by the writer's own clock) a forming candle of
    /// <paramref name="market"/> was written by another scraper than the dead one. Only a stream writes
    /// a candle while it forms (REST stores closed candles only), and the dead one writes nothing more.
    /// By its write, not its values: the heir first writes the last candle it kept of the series, and
    /// a forming candle can stay equal to what the dead one left for the rest of its minute (the
    /// fake's KRW-XRP forming candle often does: its price moves at most one 0.1 step a minute and
    /// its last trade time stops moving), so a detector of changed values waited for the next minute.
    /// </summary>
    private static async Task<(TimeSpan Seen, TimeSpan Written)> StoredLiveAfterAsync(NpgsqlDataSource rows, string market,
        IReadOnlyDictionary<DateTimeOffset, DateTimeOffset> left, DateTimeOffset killedAt, TimeSpan timeout)
    {
        while (DateTimeOffset.UtcNow - killedAt < timeout)
        {
            var now = DateTimeOffset.UtcNow;
            var written = (await FormingWritesAsync(rows, market))
                .Where(w => w.Value > killedAt && (!left.TryGetValue(w.Key, out var before) || w.Value != before))
                .Select(w => (DateTimeOffset?)w.Value).Min();
            if (written is { } at) return (now - killedAt, at - killedAt);
            await Task.Delay(100);
        }
        throw new TimeoutException($"no stream candle of {market} stored within {timeout.TotalSeconds:0} s of the kill");
    }

    /// <summary>
    /// When each of the stored candles of <paramref name="market"/> that started in this minute or
    /// the last was written (fetched_at), by its start, if it was written while it formed.
    /// </summary>
    private static async Task<IReadOnlyDictionary<DateTimeOffset, DateTimeOffset>> FormingWritesAsync(NpgsqlDataSource rows, string market)
    {
        await using var command = rows.CreateCommand(
            "SELECT candle_date_time_utc, fetched_at FROM candles WHERE market = $1 AND unit = $2 AND candle_date_time_utc >= $3 " +
            "AND fetched_at < candle_date_time_utc + interval '1 minute'");
        command.Parameters.Add(new NpgsqlParameter { Value = market });
        command.Parameters.Add(new NpgsqlParameter { Value = Minute.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = (Minute.AlignDown(DateTimeOffset.UtcNow) - Minute.Interval).UtcDateTime });
        await using var reader = await command.ExecuteReaderAsync();
        var writes = new Dictionary<DateTimeOffset, DateTimeOffset>();
        while (await reader.ReadAsync()) writes[new DateTimeOffset(reader.GetDateTime(0))] = new DateTimeOffset(reader.GetDateTime(1));
        return writes;
    }

    private static async Task WaitForCoverageAsync(PostgresCandleStore store, DateTimeOffset until, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        List<string> behind;
        while ((behind = [.. Markets.Where(mk => store.GetCoverage(new SeriesKey(mk, Minute)) is not [.., var last] || last.End < until)]).Count > 0 && clock.Elapsed < timeout)
            await Task.Delay(200);
        Assert.True(behind.Count == 0, $"not reconciled up to {until:HH:mm:ss} within {timeout.TotalSeconds:0} s: " + string.Join(", ", behind));
    }
}
