using System.Globalization;
using System.Runtime.Versioning;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;
using Scraper.Tests.Ops;
using Scraper.Tests.TestKit;
using Xunit.Abstractions;

namespace Scraper.Tests.Observability;

/// <summary>
/// Grafana cannot run here, so the Candles dashboard (grafana/dashboards/candles.json) is proven
/// against what it reads: the real daemon backfills from the fake exchange into a real PostgreSQL
/// server, then every SQL panel and variable query runs there — with the variables and macros
/// substituted as Grafana's PostgreSQL datasource does — as the read-only role the README creates,
/// and must return rows. The Prometheus panel's expressions go through promtool.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed partial class CandlesDashboardTests(ITestOutputHelper output) : PostgresExchangeTest(new FakeExchangeOptions { NoTradeProbability = 0 })
{
    private const string PostgresUid = "candles-postgres";
    private const string ReaderPassword = "reader-password-51c9";

    private static string DashboardPath => RepoPaths.Combine("grafana", "dashboards", "candles.json");

    [PostgresFact]
    public async Task Every_SQL_query_of_the_dashboard_returns_rows_from_a_real_backfill_read_by_a_read_only_role()
    {
        var db = await Server.CreateDatabaseAsync("candles");
        var passwordFile = Path.Combine(Dir, "db-password");
        await File.WriteAllTextAsync(passwordFile, PostgresServer.Password + "\n");
        var (code, stdout, stderr) = await ScraperProcess.RunAsync(
            ["backfill", "--upbit-url", Exchange.BaseUrl.ToString().TrimEnd('/'), "--db", $"postgres://{PostgresServer.User}@127.0.0.1:{Server.Port}/{db}?sslmode=disable",
             "--db-password-file", passwordFile, "--markets", "KRW-BTC,KRW-ETH", "--units", "1,60", "--since", "1d"],
            TimeSpan.FromMinutes(3));
        Assert.True(code == 0, stderr + stdout);
        // The read-only role of the README's "Scaling out" section, created after the scraper made its tables.
        await Server.PsqlAsync(db, $"""
            CREATE ROLE grafana_candles LOGIN PASSWORD '{ReaderPassword}';
            GRANT CONNECT ON DATABASE {db} TO grafana_candles;
            GRANT USAGE ON SCHEMA public TO grafana_candles;
            GRANT SELECT ON candles, coverage TO grafana_candles;
            """);
        await using var reader = new NpgsqlConnection($"Host=127.0.0.1;Port={Server.Port};Username=grafana_candles;Password={ReaderPassword};Database={db}");
        await reader.OpenAsync();

        var to = DateTimeOffset.UtcNow;
        var range = new GrafanaRange(to.AddHours(-24), to, "1m");
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(DashboardPath));
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            var name = variable.GetProperty("name").GetString()!;
            Assert.Equal(PostgresUid, variable.GetProperty("datasource").GetProperty("uid").GetString());
            var rows = await QueryAsync(reader, range.Interpolate(variable.GetProperty("query").GetString()!, variables));
            output.WriteLine($"variable {name}: {string.Join(", ", rows.Select(r => r[0]))}");
            Assert.True(rows.Count > 0, $"variable {name} has no value");
            variables[name] = (string)rows[0][0]!;
        }
        Assert.Equal(["market", "unit"], variables.Keys.Order());
        Assert.Equal(("KRW-BTC", "1"), (variables["market"], variables["unit"]));

        var panels = Panels(dashboard).ToList();
        var sqlTargets = panels.Where(p => p.Uid == PostgresUid).ToList();
        Assert.True(sqlTargets.Count >= 5, $"only {sqlTargets.Count} SQL targets");
        foreach (var (title, type, _, sql, _) in sqlTargets)
        {
            var query = range.Interpolate(sql!, variables);
            var rows = await QueryAsync(reader, query);
            output.WriteLine($"{rows.Count,5} rows  {type} '{title}'");
            Assert.True(rows.Count > 0, $"panel '{title}' returned no row:\n{query}");
        }
        var candlestick = Assert.Single(panels, p => p.Type == "candlestick");
        var columns = await ColumnsAsync(reader, range.Interpolate(candlestick.Sql!, variables));
        Assert.Equal(["time", "open", "high", "low", "close", "volume"], columns);
        await AssertCandlestickMatchesTheStoreAsync(reader, range, range.Interpolate(candlestick.Sql!, variables));

        // The role reads and cannot write.
        var denied = await Assert.ThrowsAsync<PostgresException>(() => QueryAsync(reader, "DELETE FROM coverage"));
        Assert.Equal("42501", denied.SqlState);
    }

    [Fact]
    public void The_dashboard_has_a_candlestick_volume_coverage_gaps_and_throughput_panel_and_unique_ids()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(DashboardPath));
        var panels = Panels(dashboard).ToList();

        Assert.Equal("Candles", dashboard.RootElement.GetProperty("title").GetString());
        Assert.Contains(panels, p => p.Type == "candlestick" && p.Sql!.Contains("'$market'", StringComparison.Ordinal) && p.Sql.Contains("'$unit'", StringComparison.Ordinal));
        Assert.Contains(panels, p => p.Title.Contains("volume", StringComparison.Ordinal) && p.Sql!.Contains("candle_acc_trade_volume", StringComparison.Ordinal));
        Assert.Contains(panels, p => p.Title.StartsWith("Coverage per series", StringComparison.Ordinal));
        Assert.Contains(panels, p => p.Title.StartsWith("Gaps per series", StringComparison.Ordinal));
        Assert.Contains(panels, p => p.Uid == "prometheus" && p.Expr!.Contains("by (instance)", StringComparison.Ordinal));
        var ids = dashboard.RootElement.GetProperty("panels").EnumerateArray().Select(p => p.GetProperty("id").GetInt32()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.NotEqual("bitcoin-price-scraper", dashboard.RootElement.GetProperty("uid").GetString());
    }

    [Fact]
    public void The_datasource_is_provisioned_by_uid_with_the_password_from_a_file_and_none_inline()
    {
        var yaml = File.ReadAllText(RepoPaths.Combine("grafana", "provisioning", "datasources", "candles-postgres.yml"));
        using var dashboard = JsonDocument.Parse(File.ReadAllText(DashboardPath));
        var type = Panels(dashboard).First(p => p.Uid == PostgresUid).Type;

        Assert.Matches(@"(?m)^apiVersion: 1$", yaml);
        Assert.Matches($@"(?m)^    uid: {PostgresUid}$", yaml);
        Assert.Matches(@"(?m)^    type: grafana-postgresql-datasource$", yaml);
        Assert.Matches(@"(?m)^      database: \S+$", yaml);
        Assert.Matches(@"(?m)^      sslmode: verify-full$", yaml);
        Assert.Matches(@"(?m)^    secureJsonData:\n      password: \$__file\{/etc/grafana/candles-db-password\}$", yaml);
        Assert.DoesNotMatch(@"(?m)^\s*password:(?!\s*\$)", yaml);
        Assert.Matches(@"(?m)^    isDefault: false$", yaml);
        Assert.NotNull(type);
        Assert.All(dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray(),
            v => Assert.Equal("grafana-postgresql-datasource", v.GetProperty("datasource").GetProperty("type").GetString()));
    }

    [SystemFact("promtool")]
    public async Task The_Prometheus_panel_queries_are_valid_PromQL()
    {
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(DashboardPath));
        var queries = Panels(dashboard).Where(p => p.Uid == "prometheus").Select(p => (Name: p.Title, Expr: p.Expr!)).ToList();
        Assert.NotEmpty(queries);
        using var temp = new TempDirectory();
        var rules = temp.Combine("candles-dashboard.yml");
        await File.WriteAllTextAsync(rules, GrafanaDashboardTests.RecordingRules(queries));

        var result = await ToolRunner.RunAsync("promtool", "check", "rules", rules);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public void Macros_expand_as_Grafanas_PostgreSQL_datasource_expands_them()
    {
        var range = new GrafanaRange(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2025, 1, 2, 0, 0, 0, TimeSpan.Zero), "5m");

        var sql = range.Interpolate("SELECT $__timeGroupAlias(t, $__interval), $__timeGroup(t, 1d) FROM x WHERE m = '$market' AND $__timeFilter(t) AND t < $__timeTo() AND t >= $__timeFrom()",
            new Dictionary<string, string> { ["market"] = "KRW-BTC" });

        Assert.Equal("SELECT floor(extract(epoch from t)/300)*300 AS \"time\", floor(extract(epoch from t)/86400)*86400 FROM x WHERE m = 'KRW-BTC' "
            + "AND t BETWEEN '2025-01-01T00:00:00Z' AND '2025-01-02T00:00:00Z' AND t < '2025-01-02T00:00:00Z' AND t >= '2025-01-01T00:00:00Z'", sql);
    }

    /// <summary>The first bucket's open and the last bucket's close are the store's first open and last close in the range.</summary>
    private static async Task AssertCandlestickMatchesTheStoreAsync(NpgsqlConnection reader, GrafanaRange range, string sql)
    {
        var rows = await QueryAsync(reader, sql);
        const string inRange = "FROM candles WHERE market = 'KRW-BTC' AND unit = '1' AND $__timeFilter(candle_date_time_utc) ORDER BY candle_date_time_utc";
        var none = new Dictionary<string, string>();
        var first = await QueryAsync(reader, range.Interpolate($"SELECT opening_price::float8 {inRange} LIMIT 1", none));
        var last = await QueryAsync(reader, range.Interpolate($"SELECT trade_price::float8 {inRange} DESC LIMIT 1", none));
        Assert.Equal(first[0][0], rows[0][1]);
        Assert.Equal(last[0][0], rows[^1][4]);
    }

    private static IEnumerable<(string Title, string Type, string? Uid, string? Sql, string? Expr)> Panels(JsonDocument dashboard) =>
        dashboard.RootElement.GetProperty("panels").EnumerateArray().SelectMany(panel => panel.GetProperty("targets").EnumerateArray().Select(t => (
            Title: panel.GetProperty("title").GetString()!,
            Type: panel.GetProperty("type").GetString()!,
            Uid: t.GetProperty("datasource").GetProperty("uid").GetString(),
            Sql: t.TryGetProperty("rawSql", out var sql) ? sql.GetString() : null,
            Expr: t.TryGetProperty("expr", out var expr) ? expr.GetString() : null)));

    private static async Task<List<object?[]>> QueryAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    private static async Task<List<string>> ColumnsAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        return Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
    }

    /// <summary>
    /// What Grafana does to a query of its PostgreSQL datasource: template variables first (a
    /// single-value variable is inserted as is), then the macros, with the dashboard's time range.
    /// </summary>
    private sealed partial record GrafanaRange(DateTimeOffset From, DateTimeOffset To, string Interval)
    {
        public string Interpolate(string sql, IReadOnlyDictionary<string, string> variables)
        {
            var text = sql.Replace("$__interval", Interval, StringComparison.Ordinal);
            text = VariablePattern().Replace(text, m => m.Groups["name"].Value.StartsWith("__", StringComparison.Ordinal)
                ? m.Value
                : variables.TryGetValue(m.Groups["name"].Value, out var value) ? value : throw new InvalidOperationException($"unknown variable {m.Value} in {sql}"));
            text = text.Replace("$__timeFrom()", Quote(From), StringComparison.Ordinal).Replace("$__timeTo()", Quote(To), StringComparison.Ordinal);
            text = MacroPattern().Replace(text, m =>
            {
                var args = m.Groups["args"].Value.Split(',').Select(a => a.Trim().Trim('\'')).ToArray();
                return m.Groups["macro"].Value switch
                {
                    "timeFilter" => $"{args[0]} BETWEEN {Quote(From)} AND {Quote(To)}",
                    "timeGroup" => Group(args[0], args[1]),
                    "timeGroupAlias" => Group(args[0], args[1]) + " AS \"time\"",
                    var other => throw new InvalidOperationException($"macro $__{other} is not emulated"),
                };
            });
            Assert.False(text.Contains('$', StringComparison.Ordinal), $"unsubstituted variable or macro left in:\n{text}");
            return text;
        }

        private static string Group(string column, string interval)
        {
            var seconds = (long)Parse(interval).TotalSeconds;
            return string.Create(CultureInfo.InvariantCulture, $"floor(extract(epoch from {column})/{seconds})*{seconds}");
        }

        private static TimeSpan Parse(string interval)
        {
            var n = double.Parse(interval[..^1], CultureInfo.InvariantCulture);
            return interval[^1] switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                _ => throw new FormatException($"interval {interval}"),
            };
        }

        private static string Quote(DateTimeOffset instant) => $"'{instant.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}'";

        [GeneratedRegex(@"\$\{?(?<name>[A-Za-z_][A-Za-z0-9_]*)\}?(?!\()")]
        private static partial Regex VariablePattern();

        [GeneratedRegex(@"\$__(?<macro>timeFilter|timeGroupAlias|timeGroup|[A-Za-z]+)\((?<args>[^()]*)\)")]
        private static partial Regex MacroPattern();
    }
}
