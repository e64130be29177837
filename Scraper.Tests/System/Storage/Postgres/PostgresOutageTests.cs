using Npgsql;
using Scraper.Storage;
using Scraper.Storage.Postgres;
using Scraper.Tests.TestKit;
using static Scraper.Tests.Storage.TestCandles;

namespace Scraper.Tests.Storage.Postgres;

/// <summary>The server crashes (pg_ctl stop -m immediate) and comes back: a waiting store loses nothing.</summary>
public sealed class PostgresOutageTests(PostgresServer server) : PostgresStoreTestBase(server)
{
    protected override bool OpenStoreAtStart => false;

    [PostgresFact]
    public void An_unexpected_driver_exception_on_a_connection_that_broke_is_waited_out_as_a_lost_connection()
    {
        var availability = new RecordingAvailability();
        using var source = new NpgsqlSlimDataSourceBuilder(Settings().ConnectionString).Build();
        var retry = new PostgresRetry(source, "test", TimeProvider.System, availability, CancellationToken.None);
        var attempts = 0;
        var result = retry.Run("probing", connection =>
        {
            if (++attempts == 1)
            {
                // As when the server crashes under a running command and the driver's read fails oddly.
                connection.Close();
                throw new NullReferenceException("inside the driver's read");
            }
            using var command = new NpgsqlCommand("SELECT 1", connection);
            return (int)command.ExecuteScalar()!;
        });
        Assert.Equal(1, result);
        Assert.Equal(2, attempts);
        Assert.StartsWith("down: the connection to the server broke during the command (NullReferenceException)", availability.Events[0], StringComparison.Ordinal);
        Assert.Equal("up", availability.Events[^1]);
    }

    [PostgresFact]
    public async Task Saves_during_a_crash_and_restart_wait_and_then_all_land()
    {
        var availability = new RecordingAvailability();
        using var store = PostgresCandleStore.Open(Settings(), TimeProvider.System, new PostgresStoreOptions { Availability = availability });
        const int batches = 60;
        var saved = 0;

        var writer = Task.Run(async () =>
        {
            for (var b = 0; b < batches; b++)
            {
                store.SaveResponse(BtcMinute, Minutes(b * 100, 100), Range(b * 100, (b + 1) * 100));
                Interlocked.Increment(ref saved);
                await Task.Delay(20);
            }
        });
        while (Volatile.Read(ref saved) < 10) await Task.Delay(10);
        await Server.StopAsync("immediate");
        var savedWhileDown = Volatile.Read(ref saved);
        await Task.Delay(1500);
        Assert.InRange(Volatile.Read(ref saved) - savedWhileDown, 0, 1); // the writer waits instead of failing or skipping
        Assert.False(writer.IsCompleted, writer.Exception?.ToString());
        await Server.StartAsync();

        await writer.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(batches * 100, store.CountCandles(BtcMinute));
        Assert.Equal([Range(0, batches * 100)], store.GetCoverage(BtcMinute));
        var events = availability.Snapshot();
        Assert.StartsWith("down: ", events[0], StringComparison.Ordinal);
        Assert.Equal("up", events[^1]);
        Assert.Single(events, "up");
    }

    [PostgresFact]
    public async Task Opening_while_the_server_is_down_waits_for_it()
    {
        await Server.StopAsync("fast");
        var availability = new RecordingAvailability();
        try
        {
            var opening = Task.Run(() => PostgresCandleStore.Open(Settings(), TimeProvider.System, new PostgresStoreOptions { Availability = availability }));
            await Task.Delay(1000);
            Assert.False(opening.IsCompleted, opening.Exception?.ToString());
            Assert.Contains(availability.Snapshot(), e => e.StartsWith("down: ", StringComparison.Ordinal));

            await Server.StartAsync();
            using var store = await opening.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(0, store.CountCandles(BtcMinute));
            Assert.Equal("up", availability.Snapshot()[^1]);
        }
        finally
        {
            await EnsureRunningAsync();
        }
    }

    [PostgresFact]
    public async Task Without_waiting_a_down_server_fails_at_once_naming_host_and_database()
    {
        await Server.StopAsync("fast");
        try
        {
            var error = Assert.Throws<StoreException>(() => PostgresCandleStore.Open(Settings(), TimeProvider.System, new PostgresStoreOptions { ReadOnly = true }));

            Assert.StartsWith($"postgres 127.0.0.1:{Server.Port}/{Database}: opening failed: ", error.Message, StringComparison.Ordinal);
            Assert.Equal(PostgresErrorKind.Transient, PostgresErrors.Classify(error));
        }
        finally
        {
            await EnsureRunningAsync();
        }
    }

    [PostgresFact]
    public async Task Stopping_ends_the_wait_with_a_store_error()
    {
        await Server.StopAsync("fast");
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(800));
            var error = await Assert.ThrowsAsync<StoreException>(() => Task.Run(() =>
                PostgresCandleStore.Open(Settings(), TimeProvider.System, new PostgresStoreOptions { Availability = new RecordingAvailability(), Stop = stop.Token })));

            Assert.Contains(": opening abandoned at stop: the database was unavailable", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await EnsureRunningAsync();
        }
    }

    private async Task EnsureRunningAsync()
    {
        try
        {
            await Server.StartAsync();
        }
        catch (Xunit.Sdk.XunitException)
        {
            // already running
        }
    }
}
