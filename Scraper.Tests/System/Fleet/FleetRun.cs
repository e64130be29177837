using System.Globalization;
using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Storage;
using Scraper.Storage.Postgres;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Fleet;

/// <summary>What the fleet tests and the fleet benchmark share: `backfill` command lines against one PostgreSQL and one fake exchange, and the check that the database holds exactly the fake's candles.</summary>
internal sealed class FleetRun(PostgresServer server, FakeUpbitExchange exchange, string dir, string leasePeriod)
{
    /// <summary>The connection string (no password) and the password file.</summary>
    public (string Db, string PasswordFile) Connection(string database)
    {
        var file = Path.Combine(dir, "db-password");
        File.WriteAllText(file, PostgresServer.Password + "\n");
        return ($"postgres://{PostgresServer.User}@127.0.0.1:{server.Port}/{database}?sslmode=disable", file);
    }

    /// <summary>The options that make a scraper one of the fleet, bound to <paramref name="address"/>.</summary>
    public string[] FleetOptions(string database, string address) =>
        ["--db-password-file", Connection(database).PasswordFile, "--bind-address", address, "--instance", "scraper-" + address, "--lease-period", leasePeriod];

    /// <summary>A `backfill` of <paramref name="markets"/> (comma-separated) since <paramref name="since"/>.</summary>
    public List<string> Backfill(string database, string address, string markets, DateTimeOffset since) =>
        ["backfill", "--upbit-url", exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Connection(database).Db, "--markets", markets,
         "--since", Iso(since), .. FleetOptions(database, address)];

    /// <summary>An instant as the command line takes it.</summary>
    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    /// <summary>Asserts that every market's one-minute candles since <paramref name="since"/> are stored, exactly the fake's, with no gap.</summary>
    public void VerifyExact(string database, IEnumerable<string> markets, DateTimeOffset since, DateTimeOffset end)
    {
        using var store = PostgresCandleStore.Open(PostgresConnectionSettings.Parse(server.ConnectionString(database)), TimeProvider.System,
            new PostgresStoreOptions { ReadOnly = true });
        foreach (var market in markets)
        {
            var series = new SeriesKey(market, CandleUnit.FromMinutes(1));
            var covered = WindowPlanner.CoverableEnd(series, end) - series.Unit.Interval;
            var expected = exchange.Data.ClosedCandles(market, series.Unit, series.Unit.AlignDown(since), covered, end);
            Assert.Equal(expected.Count, store.CountCandles(series, series.Unit.AlignDown(since), covered));
            Assert.Equal(expected, store.ReadCandles(series, series.Unit.AlignDown(since), covered).ToList());
            Assert.Empty(Coverage.Gaps(store.GetCoverage(series), new TimeRange(series.Unit.AlignDown(since), covered)));
        }
    }
}
