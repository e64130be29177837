using System.Globalization;
using System.Text.RegularExpressions;
using Scraper.Domain;
using Scraper.Hosting;
using Scraper.Storage;
using Scraper.Storage.Postgres;
using Scraper.Storage.Sqlite;
using Scraper.Tests.Integration;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Hosting;

/// <summary>
/// <c>copy</c> from a real SQLite file into a real PostgreSQL server (and into another SQLite file):
/// everything arrives exact, verify agrees on both sides, a rerun changes nothing, and a copy stopped
/// by SIGINT or killed by SIGKILL continues where it ended.
/// </summary>
public sealed partial class CopyVerbTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string[] VerifyScope = ["--markets", "KRW-BTC,KRW-ETH,KRW-XRP", "--units", "1,5,day", "--since", "2024-01-01", "--until", "2024-03-01"];
    private readonly PostgresServer _server = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("bps-copy-").FullName;
    private string _passwordFile = "";

    public async Task InitializeAsync()
    {
        await _server.InitializeAsync();
        _passwordFile = Path.Combine(_dir, "db-password");
        await File.WriteAllTextAsync(_passwordFile, PostgresServer.Password + "\n");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Url(string database) => $"postgres://{PostgresServer.User}@127.0.0.1:{_server.Port}/{database}?sslmode=disable";

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var app = new ProgramContext(stdout, stderr, new Dictionary<string, string>(), TimeProvider.System, CancellationToken.None);
        var code = await ScraperApp.RunAsync(args, app);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [PostgresFact]
    public async Task Copy_to_PostgreSQL_brings_every_candle_and_coverage_exact_and_verify_agrees_on_both_sides()
    {
        var sqlite = Path.Combine(_dir, "candles.db");
        CopySourceData.WriteVaried(sqlite, minutes: 30_000);
        var db = await _server.CreateDatabaseAsync();

        var copy = await RunAsync("copy", "--from", sqlite, "--to", Url(db), "--db-password-file", _passwordFile);

        Assert.True(copy.Code == 0, copy.Err + copy.Out);
        using (var source = SqliteCandleStore.Open(sqlite, TimeProvider.System, readOnly: true))
        using (var target = OpenPostgres(db))
        {
            AssertSameStores(source, target);
        }
        var verifySource = await RunAsync(["verify", "--db", sqlite, .. VerifyScope]);
        var verifyTarget = await RunAsync(["verify", "--db", Url(db), "--db-password-file", _passwordFile, .. VerifyScope]);
        Assert.Equal(verifySource.Out, verifyTarget.Out);
        Assert.Equal(verifySource.Code, verifyTarget.Code);
        Assert.Contains("KRW-BTC unit 1: 29901 candles", verifyTarget.Out, StringComparison.Ordinal);
        Assert.Contains("KRW-ETH unit day: 100 candles", verifyTarget.Out, StringComparison.Ordinal);

        // Run again: nothing changes (the upsert is idempotent; covered ranges are skipped).
        var fetched = await _server.PsqlAsync(db, "SELECT count(*) || ' ' || max(fetched_at) FROM candles WHERE unit = 'day'");
        var again = await RunAsync("copy", "--from", sqlite, "--to", Url(db), "--db-password-file", _passwordFile);
        Assert.True(again.Code == 0, again.Err + again.Out);
        Assert.Equal(fetched, await _server.PsqlAsync(db, "SELECT count(*) || ' ' || max(fetched_at) FROM candles WHERE unit = 'day'"));
        using (var source = SqliteCandleStore.Open(sqlite, TimeProvider.System, readOnly: true))
        using (var target = OpenPostgres(db))
        {
            AssertSameStores(source, target);
        }
        Assert.DoesNotContain(PostgresServer.Password, copy.Out + copy.Err + again.Out + again.Err + verifyTarget.Out + verifyTarget.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copy_between_two_SQLite_files_works_too()
    {
        var from = Path.Combine(_dir, "a.db");
        var to = Path.Combine(_dir, "b.db");
        CopySourceData.WriteVaried(from, minutes: 3_000);

        var copy = await RunAsync("copy", "--from", from, "--to", to);

        Assert.True(copy.Code == 0, copy.Err + copy.Out);
        using var source = SqliteCandleStore.Open(from, TimeProvider.System, readOnly: true);
        using var target = SqliteCandleStore.Open(to, TimeProvider.System, readOnly: true);
        AssertSameStores(source, target);
    }

    [Theory]
    [InlineData("copy --to x.db", "invalid --from (missing)")]
    [InlineData("copy --from missing.db --to x.db", "invalid --from '")]
    [InlineData("copy --from same.db --to same.db", "it is the --from store")]
    public async Task A_bad_copy_command_exits_78_with_one_line(string command, string expected)
    {
        var args = command.Split(' ').Select(a => a.EndsWith(".db", StringComparison.Ordinal) ? Path.Combine(_dir, a) : a).ToArray();
        if (args.Contains(Path.Combine(_dir, "same.db"))) CopySourceData.WriteVaried(Path.Combine(_dir, "same.db"), 10);

        var (code, _, err) = await RunAsync(args);

        Assert.Equal(78, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [PostgresFact]
    public async Task A_copy_stopped_by_SIGINT_then_killed_by_SIGKILL_continues_where_it_ended_and_ends_equal()
    {
        var sqlite = Path.Combine(_dir, "big.db");
        using (var store = SqliteCandleStore.Open(sqlite, TimeProvider.System))
        {
            foreach (var market in new[] { "KRW-BTC", "KRW-ETH" })
                CopySourceData.Save(store, new SeriesKey(market, CandleUnit.FromMinutes(1)), 0, 300_000, covered: true);
        }
        const long total = 600_000;
        var db = await _server.CreateDatabaseAsync();
        string[] args = ["copy", "--from", sqlite, "--to", Url(db), "--db-password-file", _passwordFile];

        // SIGINT: the block being written is finished, then exit 1 with a line saying how to continue.
        var stopped = await InterruptAsync(args, db, above: 0, signal: 2);
        Assert.Equal(1, stopped.Code);
        Assert.Contains("copy stopped: ", stopped.Output, StringComparison.Ordinal);
        Assert.Contains("run it again to continue", stopped.Output, StringComparison.Ordinal);
        Assert.InRange(stopped.Candles, 1, total - 1);

        // SIGKILL mid-block: the block's transaction is lost whole; the rerun plans only what is not covered.
        var killed = await InterruptAsync(args, db, above: stopped.Candles, signal: 9);
        Assert.InRange(killed.Candles, stopped.Candles + 1, total - 1);
        Assert.True(PlannedCandles(killed.Output) < total, killed.Output);

        var (code, stdout, stderr) = await ScraperProcess.RunAsync(args, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, stderr + stdout);
        output.WriteLine(string.Join('\n', (stopped.Output + killed.Output + stderr).Split('\n').Where(l => l.Contains("copy", StringComparison.Ordinal))));
        Assert.True(PlannedCandles(stderr + stdout) <= total - killed.Candles, stderr + stdout);
        using (var source = SqliteCandleStore.Open(sqlite, TimeProvider.System, readOnly: true))
        using (var target = OpenPostgres(db))
        {
            AssertSameStores(source, target);
        }
        Assert.Equal("0", await _server.PsqlAsync(db,
            "SELECT count(*) FROM (SELECT market, unit, candle_date_time_utc FROM candles GROUP BY 1, 2, 3 HAVING count(*) > 1) d"));
        Assert.DoesNotContain(PostgresServer.Password, stopped.Output + killed.Output + stdout + stderr, StringComparison.Ordinal);
    }

    /// <summary>Starts a copy, signals it once the target holds more than <paramref name="above"/> candles, and reports what it left.</summary>
    private async Task<(int Code, string Output, long Candles)> InterruptAsync(string[] args, string db, long above, int signal)
    {
        using var copy = ScraperProcess.Start(args);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (await CandlesAsync(db) <= above)
        {
            Assert.False(copy.HasExited, $"the copy ended before it was interrupted: {copy.Stderr}{copy.Stdout}");
            Assert.True(DateTime.UtcNow < deadline, copy.Stderr + copy.Stdout);
            await Task.Delay(20);
        }
        Assert.False(copy.HasExited, $"the copy ended before it was interrupted: {copy.Stderr}{copy.Stdout}");
        copy.Signal(signal);
        var code = await copy.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (code, copy.Stderr + copy.Stdout, await CandlesAsync(db));
    }

    /// <summary>Candles in the target; 0 before the copy has created the schema.</summary>
    private async Task<long> CandlesAsync(string db)
    {
        var exists = await _server.PsqlAsync(db, "SELECT to_regclass('candles') IS NOT NULL");
        return exists == "t" ? long.Parse(await _server.PsqlAsync(db, "SELECT count(*) FROM candles"), CultureInfo.InvariantCulture) : 0;
    }

    private static long PlannedCandles(string output)
    {
        var matches = PlanLine().Matches(output);
        Assert.True(matches.Count > 0, output);
        return long.Parse(matches[^1].Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private PostgresCandleStore OpenPostgres(string db) =>
        PostgresCandleStore.Open(PostgresConnectionSettings.Parse(_server.ConnectionString(db)), TimeProvider.System, new PostgresStoreOptions { ReadOnly = true });

    /// <summary>Same series, same coverage, same candles, value for value (scale included).</summary>
    internal static void AssertSameStores(ICandleStore source, ICandleStore target)
    {
        var series = source.ListSeries();
        Assert.Equal(series, target.ListSeries());
        foreach (var s in series)
        {
            Assert.Equal(source.GetCoverage(s), target.GetCoverage(s));
            Assert.Equal(source.CountCandles(s), target.CountCandles(s));
            using var a = source.ReadCandles(s).GetEnumerator();
            using var b = target.ReadCandles(s).GetEnumerator();
            while (a.MoveNext())
            {
                Assert.True(b.MoveNext(), $"{s}: the target ends before {a.Current.StartUtc}");
                Assert.Equal(a.Current, b.Current);
                Assert.Equal(a.Current.TradePrice.Scale, b.Current.TradePrice.Scale);
                Assert.Equal(a.Current.AccTradeVolume.Scale, b.Current.AccTradeVolume.Scale);
            }
            Assert.False(b.MoveNext(), $"{s}: the target has more candles");
        }
    }

    [GeneratedRegex(@"blocks, (\d+) candles to copy")]
    private static partial Regex PlanLine();
}
