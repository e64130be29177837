using System.Globalization;
using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Storage;
using Scraper.Storage.Postgres;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Integration;

/// <summary>
/// The real daemon binary against the fake exchange, storing into a real PostgreSQL server that
/// crashes (pg_ctl stop -m immediate) and comes back, or is down when the daemon starts.
/// </summary>
public sealed class PostgresDaemonTests() : PostgresExchangeTest(new FakeExchangeOptions { NoTradeProbability = 0 })
{
    private string _database = "";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        if (Server.Available) _database = await Server.CreateDatabaseAsync();
    }

    /// <summary>The URI form, with the password in a file as a user would run it.</summary>
    private (string Db, string PasswordFile) Connection(string? database = null, string password = PostgresServer.Password)
    {
        var file = Path.Combine(Dir, "db-password");
        File.WriteAllText(file, password + "\n");
        return ($"postgres://{PostgresServer.User}@127.0.0.1:{Server.Port}/{database ?? _database}?sslmode=disable", file);
    }

    [PostgresFact]
    public async Task A_crash_of_the_database_mid_backfill_is_waited_out_and_nothing_is_lost()
    {
        var port = ScraperProcess.FreePort();
        var since = DateTimeOffset.UtcNow.AddDays(-15);
        var (db, passwordFile) = Connection();
        using var daemon = DaemonHarness.Start(Exchange, db, port, "KRW-BTC,KRW-ETH", since.UtcDateTime.ToString("o", CultureInfo.InvariantCulture),
            ["--db-password-file", passwordFile]);

        await DaemonHarness.WaitForMetricsAsync(daemon, port,
            m => DaemonHarness.Sum(m, "scraper_candles_stored_total") > 4000, TimeSpan.FromSeconds(60), "store some candles");
        await Server.StopAsync("immediate");
        var down = await DaemonHarness.WaitForMetricsAsync(daemon, port,
            m => DaemonHarness.Sample(m, "scraper_store_available") == 0, TimeSpan.FromSeconds(30), "report the database unavailable");
        Assert.True(DaemonHarness.Sample(down, "scraper_store_connection_failures_total") > 0, down);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(daemon.HasExited, daemon.Stderr);
        await Server.StartAsync();

        await DaemonHarness.WaitForFollowingAsync(daemon, port, ["KRW-BTC", "KRW-ETH"], TimeSpan.FromMinutes(3));
        var up = await DaemonHarness.ScrapeAsync(port);
        Assert.Equal(1, DaemonHarness.Sample(up, "scraper_store_available"));
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(20)));

        Assert.Contains($"database postgres 127.0.0.1:{Server.Port}/{_database} unavailable", daemon.Stderr, StringComparison.Ordinal);
        Assert.Contains($"database postgres 127.0.0.1:{Server.Port}/{_database} available again", daemon.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.Password, daemon.Stdout + daemon.Stderr, StringComparison.Ordinal);
        var end = DateTimeOffset.UtcNow;
        using var store = PostgresCandleStore.Open(PostgresConnectionSettings.Parse(Server.ConnectionString(_database)), TimeProvider.System,
            new PostgresStoreOptions { ReadOnly = true });
        foreach (var market in new[] { "KRW-BTC", "KRW-ETH" })
        {
            var series = new SeriesKey(market, CandleUnit.FromMinutes(1));
            var covered = WindowPlanner.CoverableEnd(series, end) - series.Unit.Interval;
            var expected = Exchange.Data.ClosedCandles(market, series.Unit, series.Unit.AlignDown(since), covered, end);
            var stored = store.ReadCandles(series, series.Unit.AlignDown(since), covered).ToList();
            Assert.Equal(expected.Count, store.CountCandles(series, series.Unit.AlignDown(since), covered));
            Assert.Equal(expected, stored);
            Assert.Empty(Coverage.Gaps(store.GetCoverage(series), new TimeRange(series.Unit.AlignDown(since), covered)));
        }
    }

    [PostgresFact]
    public async Task A_daemon_started_while_the_database_is_down_waits_for_it_then_runs()
    {
        var port = ScraperProcess.FreePort();
        var (db, passwordFile) = Connection();
        await Server.StopAsync("fast");
        using var daemon = DaemonHarness.Start(Exchange, db, port, "KRW-BTC", "2h", ["--db-password-file", passwordFile]);

        var waiting = await DaemonHarness.WaitForMetricsAsync(daemon, port,
            m => DaemonHarness.Sample(m, "scraper_store_available") == 0, TimeSpan.FromSeconds(30), "report the database unavailable");
        await WaitForLogAsync(daemon, $"database postgres 127.0.0.1:{Server.Port}/{_database} unavailable (");
        Assert.Contains("waiting for it", daemon.Stderr, StringComparison.Ordinal);
        Assert.True(DaemonHarness.Sample(waiting, "scraper_store_connection_failures_total") > 0, waiting);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(daemon.HasExited, daemon.Stderr);

        await Server.StartAsync();
        await DaemonHarness.WaitForFollowingAsync(daemon, port, ["KRW-BTC"], TimeSpan.FromSeconds(60));
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(20)));
    }

    /// <summary>Log lines reach stderr through NLog's buffer shortly after the metric changed.</summary>
    private static async Task WaitForLogAsync(ScraperProcess daemon, string text)
    {
        for (var i = 0; i < 100 && !daemon.Stderr.Contains(text, StringComparison.Ordinal); i++) await Task.Delay(100);
        Assert.Contains(text, daemon.Stderr, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task A_wrong_password_exits_78_at_once_with_one_line_naming_host_and_database_only()
    {
        var (db, passwordFile) = Connection(password: "wrong-password-3c1d");

        var (code, stdout, stderr) = await ScraperProcess.RunAsync(
            ["backfill", "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", db, "--db-password-file", passwordFile, "--since", "1h"],
            TimeSpan.FromSeconds(30));

        Assert.Equal(78, code);
        var line = Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith($"bitcoin-price-scraper: postgres 127.0.0.1:{Server.Port}/{_database}: opening failed: password authentication failed", line, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password-3c1d", stdout + stderr, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task An_unknown_database_exits_78_and_a_foreign_one_74()
    {
        var (unknown, passwordFile) = Connection("no_such_database");
        var missing = await ScraperProcess.RunAsync(["verify", "--db", unknown, "--db-password-file", passwordFile], TimeSpan.FromSeconds(30));
        Assert.Equal(78, missing.ExitCode);
        Assert.Contains("database \"no_such_database\" does not exist", missing.Stderr, StringComparison.Ordinal);

        await Server.PsqlAsync(_database, "CREATE TABLE candles (id int)");
        var (foreign, _) = Connection();
        var refused = await ScraperProcess.RunAsync(
            ["backfill", "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", foreign, "--db-password-file", passwordFile, "--since", "1h"],
            TimeSpan.FromSeconds(30));
        Assert.Equal(74, refused.ExitCode);
        Assert.Equal($"bitcoin-price-scraper: postgres 127.0.0.1:{Server.Port}/{_database} is a foreign database (tables: candles), not a bitcoin-price-scraper store",
            refused.Stderr.Trim());
        Assert.Equal("candles", await Server.PsqlAsync(_database, "SELECT string_agg(relname, ',') FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"));
    }
}
