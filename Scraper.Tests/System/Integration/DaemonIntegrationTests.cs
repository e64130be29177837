using System.Globalization;
using Scraper.Domain;
using Scraper.Storage.Sqlite;
using Scraper.Tests.FakeExchange;

namespace Scraper.Tests.Integration;

/// <summary>
/// The real binary against the fake exchange on 127.0.0.1 and a real SQLite file: what it stores
/// is compared candle by candle with what the exchange serves.
/// </summary>
public sealed class DaemonIntegrationTests : FakeExchangeTest
{


    private List<string> Args(string verb, params string[] more)
    {
        var args = new List<string> { verb, "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", Db };
        args.AddRange(more);
        return args;
    }

    /// <summary>Every closed candle the exchange has for the series in [since, coverable end at the end of the run).</summary>
    internal static void AssertStoredExactly(FakeUpbitExchange exchange, string db, SeriesKey series, DateTimeOffset since, DateTimeOffset end)
    {
        using var store = SqliteCandleStore.Open(db, TimeProvider.System, readOnly: true);
        var now = DateTimeOffset.UtcNow;
        var expected = exchange.Data.ClosedCandles(series.Market, series.Unit, series.Unit.AlignDown(since), end, now);
        var stored = store.ReadCandles(series, series.Unit.AlignDown(since), end).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Count, stored.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i], stored[i]);
            Assert.Equal(expected[i].TradePrice.ToString(CultureInfo.InvariantCulture), stored[i].TradePrice.ToString(CultureInfo.InvariantCulture));
        }
        Assert.Equal("ok", store.IntegrityCheck());
    }

    [Fact]
    public async Task Backfill_stores_exactly_what_theExchange_serves_and_verify_agrees()
    {
        var since = DateTimeOffset.UtcNow.AddDays(-1).AddHours(-3);
        var sinceText = since.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

        var (code, _, stderr) = await ScraperProcess.RunAsync(
            Args("backfill", "--markets", "KRW-BTC,BTC-ETH", "--units", "1,15,day", "--since", sinceText), TimeSpan.FromMinutes(2));

        Assert.True(code == 0, stderr);
        Assert.Contains("backfill complete", stderr, StringComparison.Ordinal);
        var end = DateTimeOffset.UtcNow;
        foreach (var market in new[] { "KRW-BTC", "BTC-ETH" })
        {
            foreach (var unit in new[] { CandleUnit.FromMinutes(1), CandleUnit.FromMinutes(15) })
            {
                var series = new SeriesKey(market, unit);
                AssertStoredExactly(Exchange, Db, series, since, Scraper.Pipeline.WindowPlanner.CoverableEnd(series, end) - unit.Interval);
            }
        }
        Assert.True(Exchange.Count429 == 0, Describe429s(Exchange));

        var verify = await ScraperProcess.RunAsync(
            Args("verify", "--markets", "KRW-BTC,BTC-ETH", "--units", "1,15,day", "--since", sinceText), TimeSpan.FromMinutes(1));
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
        Assert.Contains("verify: complete", verify.Stdout, StringComparison.Ordinal);
    }

    /// <summary>Arrival times (ms from the first request) around each 429, to see what crowded the window.</summary>
    internal static string Describe429s(FakeUpbitExchange exchange)
    {
        var requests = exchange.Requests.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)).OrderBy(r => r.CountedAt).ToList();
        if (requests.Count == 0) return "no requests";
        var t0 = requests[0].CountedAt;
        return string.Join('\n', requests.Take(40).Select(x => $"{(x.CountedAt - t0).TotalMilliseconds:0} {x.Status} {x.Path} {x.Query}"));
    }

    [Fact]
    public async Task Backfill_is_exact_when_theExchange_reads_count_as_the_last_N_candles()
    {
        Exchange.Options.Count = CountSemantics.LastNCandles;
        Exchange.Options.NoTradeProbability = 0.3;
        var since = DateTimeOffset.UtcNow.AddHours(-20);

        var (code, _, stderr) = await ScraperProcess.RunAsync(
            Args("backfill", "--since", since.UtcDateTime.ToString("o", CultureInfo.InvariantCulture)), TimeSpan.FromMinutes(2));

        Assert.True(code == 0, stderr);
        var series = new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(1));
        AssertStoredExactly(Exchange, Db, series, since, Scraper.Pipeline.WindowPlanner.CoverableEnd(series, DateTimeOffset.UtcNow) - series.Unit.Interval);
    }

    [Fact]
    public async Task Verify_reports_a_gap_and_exits_1_and_a_second_backfill_fetches_only_the_gap()
    {
        // A fixed end: with "until now", a minute closing between two commands would move the range.
        var until = CandleUnit.FromMinutes(1).AlignDown(DateTimeOffset.UtcNow.AddHours(-1));
        var sinceText = until.AddHours(-9).UtcDateTime.ToString("o", CultureInfo.InvariantCulture);
        var untilText = until.UtcDateTime.ToString("o", CultureInfo.InvariantCulture);
        var firstUntil = until.AddHours(-4).UtcDateTime.ToString("o", CultureInfo.InvariantCulture);
        var first = await ScraperProcess.RunAsync(Args("backfill", "--since", sinceText, "--until", firstUntil), TimeSpan.FromMinutes(1));
        Assert.True(first.ExitCode == 0, first.Stderr);

        var verify = await ScraperProcess.RunAsync(Args("verify", "--since", sinceText, "--until", untilText), TimeSpan.FromMinutes(1));
        Assert.Equal(1, verify.ExitCode);
        Assert.Contains("GAP", verify.Stdout, StringComparison.Ordinal);

        Exchange.ClearRequests();
        var second = await ScraperProcess.RunAsync(Args("backfill", "--since", sinceText, "--until", untilText), TimeSpan.FromMinutes(1));
        Assert.True(second.ExitCode == 0, second.Stderr);
        var candleRequests = Exchange.Requests.Count(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal));
        Assert.Equal(2, candleRequests); // the gap: 4 hours = 240 minutes = 2 windows of 200

        var again = await ScraperProcess.RunAsync(Args("verify", "--since", sinceText, "--until", untilText), TimeSpan.FromMinutes(1));
        Assert.True(again.ExitCode == 0, again.Stdout);
    }

    [Fact]
    public async Task Export_writes_the_stored_candles_as_csv_and_jsonl()
    {
        var since = DateTimeOffset.UtcNow.AddHours(-2);
        var b = await ScraperProcess.RunAsync(Args("backfill", "--since", "2h"), TimeSpan.FromMinutes(1));
        Assert.True(b.ExitCode == 0, b.Stderr);

        var csv = await ScraperProcess.RunAsync(Args("export", "--market", "KRW-BTC", "--unit", "1"), TimeSpan.FromMinutes(1));
        var jsonl = await ScraperProcess.RunAsync(Args("export", "--market", "KRW-BTC", "--unit", "1", "--format", "jsonl"), TimeSpan.FromMinutes(1));

        Assert.Equal(0, csv.ExitCode);
        Assert.Equal(0, jsonl.ExitCode);
        var expected = Exchange.Data.ClosedCandles("KRW-BTC", CandleUnit.FromMinutes(1), CandleUnit.FromMinutes(1).AlignDown(since), DateTimeOffset.UtcNow.AddMinutes(-2), DateTimeOffset.UtcNow);
        var csvLines = csv.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("market,unit,candle_date_time_utc", csvLines[0], StringComparison.Ordinal);
        var first = expected[0];
        Assert.Contains(csvLines, l => l.Contains(first.StartUtc.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture), StringComparison.Ordinal)
                                       && l.Contains(first.TradePrice.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        var jsonLines = jsonl.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(csvLines.Length - 1, jsonLines.Length);
        Assert.All(jsonLines, l => Assert.StartsWith("{", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_configuration_error_exits_78_before_anything_is_written()
    {
        var (code, stdout, stderr) = await ScraperProcess.RunAsync(Args("run", "--units", "2"), TimeSpan.FromSeconds(30));

        Assert.Equal(78, code);
        Assert.Equal("", stdout);
        Assert.Equal("bitcoin-price-scraper: invalid --units '2': expected minute units 1,3,5,10,15,30,60,240 or day", stderr.Trim());
        Assert.False(File.Exists(Db));
        Assert.Empty(Exchange.Requests);
    }

    [Fact]
    public async Task A_market_the_exchange_does_not_list_exits_78_before_anything_is_written()
    {
        // The unknown market first: the first candle request, sent beside the check, is for it, and
        // still on its way when the check fails.
        Exchange.Options.FaultInjector = r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal) ? FakeFault.Hang : null;
        var (code, _, stderr) = await ScraperProcess.RunAsync(Args("backfill", "--markets", "KRW-NOPE,KRW-BTC", "--since", "1h"), TimeSpan.FromSeconds(30));

        Assert.Equal(78, code);
        Assert.StartsWith("bitcoin-price-scraper: invalid --markets 'KRW-NOPE,KRW-BTC': the exchange lists no market KRW-NOPE", stderr.Trim(), StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.False(File.Exists(Db));
        // The first candle request goes out beside the check; nothing else does.
        Assert.True(Exchange.Requests.Count(r => r.Path != "/v1/market/all") <= 1, string.Join(", ", Exchange.Requests.Select(r => r.Path)));
    }

    [Fact]
    public async Task Under_systemd_a_configuration_error_is_an_error_level_journal_line()
    {
        var (code, _, stderr) = await ScraperProcess.RunAsync(Args("run", "--rate", "0"), TimeSpan.FromSeconds(30),
            new Dictionary<string, string> { ["INVOCATION_ID"] = "0123456789abcdef" });

        Assert.Equal(78, code);
        Assert.Equal("<3>bitcoin-price-scraper: invalid --rate '0': expected a whole number of requests per second from 1 to 1000", stderr.Trim());
    }

    [Fact]
    public async Task A_port_in_use_exits_78_naming_it()
    {
        using var blocker = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Any, 0);
        blocker.Start();
        var port = ((System.Net.IPEndPoint)blocker.LocalEndpoint).Port;

        var (code, _, stderr) = await ScraperProcess.RunAsync(Args("run", "--listen", $"0.0.0.0:{port}"), TimeSpan.FromSeconds(30));

        Assert.Equal(78, code);
        Assert.StartsWith($"bitcoin-price-scraper: invalid --listen '0.0.0.0:{port}'", stderr.Trim(), StringComparison.Ordinal);
        Assert.DoesNotContain(Exchange.Requests, r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_foreign_database_is_refused_with_exit_74_and_left_untouched()
    {
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Db}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);";
            cmd.ExecuteNonQuery();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var before = File.ReadAllBytes(Db);

        var (code, _, stderr) = await ScraperProcess.RunAsync(Args("backfill", "--since", "1h"), TimeSpan.FromSeconds(30));

        Assert.Equal(74, code);
        Assert.Contains(Db, stderr, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Db));
    }
}
