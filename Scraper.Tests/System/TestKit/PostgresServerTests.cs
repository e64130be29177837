using System.Globalization;

namespace Scraper.Tests.TestKit;

/// <summary>The throwaway server itself: password over TCP, and a crash it recovers from.</summary>
public sealed class PostgresServerTests : IAsyncLifetime
{
    private readonly PostgresServer _server = new();

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    [PostgresFact]
    public async Task A_committed_row_survives_an_immediate_stop_and_only_the_right_password_connects()
    {
        var db = await _server.CreateDatabaseAsync();
        await _server.PsqlAsync(db, "CREATE TABLE t (v numeric); INSERT INTO t VALUES (170359000.12345678)");

        await _server.StopAsync("immediate");
        await _server.StartAsync();

        Assert.Equal("170359000.12345678", await _server.PsqlAsync(db, "SELECT v FROM t"));
        var port = _server.Port.ToString(CultureInfo.InvariantCulture);
        var good = await Commands.RunAsync("psql", ["-h", "127.0.0.1", "-p", port, "-U", PostgresServer.User, "-d", db, "-XAtc", "SELECT 1"],
            environment: new Dictionary<string, string> { ["PGPASSWORD"] = PostgresServer.Password });
        Assert.True(good.Code == 0 && good.Output.Trim() == "1", good.Output);
        var bad = await Commands.RunAsync("psql", ["-h", "127.0.0.1", "-p", port, "-U", PostgresServer.User, "-d", db, "-XAtc", "SELECT 1", "-w"],
            environment: new Dictionary<string, string> { ["PGPASSWORD"] = "wrong" });
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("password authentication failed", bad.Output, StringComparison.Ordinal);
    }
}
