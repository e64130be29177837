using Microsoft.Extensions.Time.Testing;
using Scraper.Domain;
using Scraper.Pipeline;
using Scraper.Storage;
using Scraper.Storage.Sqlite;
using Scraper.Tests.Pipeline;

namespace Scraper.Tests.Fleet;

/// <summary>
/// A scraper cut off from the database (its lease renewals fail) stops following its series once their lease period has run out without
/// a renewal, says so once and counts it, and claims afresh once the database answers.
/// </summary>
public sealed class FollowLeaseDropTests : IDisposable
{
    private static readonly SeriesKey Btc = new("KRW-BTC", CandleUnit.FromMinutes(1));
    private static readonly SeriesKey Eth = new("KRW-ETH", CandleUnit.FromMinutes(1));
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 500 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), what);
    }

    /// <summary>Advances the clock in steps of 100 ms, giving the follow loop a moment at each.</summary>
    private async Task AdvanceAsync(TimeSpan by)
    {
        for (var t = TimeSpan.Zero; t < by; t += TimeSpan.FromMilliseconds(100))
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task Cut_off_from_the_database_a_scraper_stops_following_after_one_lease_period_says_so_once_and_claims_afresh_when_it_answers()
    {
        using var leases = new TestLeases(TimeSpan.FromSeconds(3), _time);
        using var store = SqliteCandleStore.Open(_dir.Combine("candles.db"), _time);
        var lines = new LogLines();
        var drops = new DroppedLeases();
        var fleet = new FleetWork(leases, store, drops, _time, new LinesFactory(lines));
        IReadOnlySet<SeriesKey> followed = new HashSet<SeriesKey>();
        using var watching = fleet.Followed.Subscribe(s => Volatile.Write(ref followed, s));
        using var stop = new CancellationTokenSource();
        var share = fleet.Follow([Btc, Eth], stop.Token)!;

        await UntilAsync(() => fleet.Follows(Btc) && fleet.Follows(Eth), "follows both series");
        leases.Down();
        await AdvanceAsync(TimeSpan.FromSeconds(1.5));
        Assert.True(fleet.Follows(Btc), "still within the lease period");
        await AdvanceAsync(TimeSpan.FromSeconds(3));

        Assert.False(fleet.Follows(Btc) || fleet.Follows(Eth), "follows series whose lease ran out without a renewal");
        Assert.Empty(Volatile.Read(ref followed));
        Assert.Equal(2, drops.Follow);
        await AdvanceAsync(TimeSpan.FromSeconds(6));
        Assert.Single(lines.Containing("stopped following"));

        leases.Up();
        for (var i = 0; i < 30 && !(fleet.Follows(Btc) && fleet.Follows(Eth)); i++) await AdvanceAsync(TimeSpan.FromMilliseconds(200));
        Assert.True(fleet.Follows(Btc) && fleet.Follows(Eth), "claims afresh once the database answers");
        Assert.Equal(2, Volatile.Read(ref followed).Count);
        await stop.CancelAsync();
        await share.DisposeAsync();
    }

    private sealed class LinesFactory(LogLines lines) : Microsoft.Extensions.Logging.ILoggerFactory
    {
        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => lines.For(categoryName);
        public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider) { }
        public void Dispose() { }
    }
}
