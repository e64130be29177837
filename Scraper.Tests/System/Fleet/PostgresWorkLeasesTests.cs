using System.Collections.Concurrent;
using Scraper.Domain;
using Scraper.Storage;
using Scraper.Storage.Postgres;
using Scraper.Tests.Storage.Postgres;
using Scraper.Tests.TestKit;

namespace Scraper.Tests.Fleet;

/// <summary>Leases in a real PostgreSQL server: exclusive under concurrent claims, renewed, released, taken over after expiry.</summary>
public sealed class PostgresWorkLeasesTests(PostgresServer server) : PostgresStoreTestBase(server)
{
    private static readonly SeriesKey Btc = new("KRW-BTC", CandleUnit.FromMinutes(1));
    private readonly List<PostgresWorkLeases> _opened = [];

    public override Task DisposeAsync()
    {
        foreach (var leases in _opened) leases.Dispose();
        return base.DisposeAsync();
    }

    private PostgresWorkLeases Open(string instance, TimeSpan period, IFleetEvents? events = null)
    {
        var leases = PostgresWorkLeases.Open(Settings(), instance, period, TimeProvider.System, new PostgresStoreOptions(), events);
        _opened.Add(leases);
        return leases;
    }

    private static List<WorkLease> Chunks(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new WorkLease(LeaseKind.Windows, Btc, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(i)))];

    [PostgresFact]
    public async Task Three_scrapers_claiming_at_once_get_disjoint_leases_that_cover_everything()
    {
        var all = Chunks(60);
        var scrapers = new[] { "a", "b", "c" }.Select(n => Open(n, TimeSpan.FromSeconds(30))).ToList();
        var granted = new ConcurrentDictionary<string, List<WorkLease>>();
        var total = 0;

        // A claim that lost a race to another's insert gets fewer: each keeps claiming until all are taken.
        await Task.WhenAll(scrapers.Select(leases => Task.Run(() =>
        {
            var mine = new List<WorkLease>();
            for (var attempt = 0; Volatile.Read(ref total) < all.Count && attempt < 500; attempt++)
            {
                var got = leases.Claim(all, 4);
                Interlocked.Add(ref total, got.Count);
                mine.AddRange(got.Select(g => g.Lease));
            }
            granted[leases.Instance] = mine;
        })));

        var claims = granted.Values.SelectMany(g => g).ToList();
        Assert.Equal(all.Count, claims.Count);
        Assert.Equal(all.ToHashSet(), claims.ToHashSet());
        Assert.Equal(all.Count, scrapers.Sum(s => s.Held(LeaseKind.Windows).Count(s.Holds)));
    }

    [PostgresFact]
    public async Task An_expired_lease_is_taken_over_and_its_old_holder_learns_it_on_renewal()
    {
        var chunks = Chunks(3);
        var events = new RecordedEvents();
        var dead = Open("dead", TimeSpan.FromSeconds(1));
        var alive = Open("alive", TimeSpan.FromSeconds(1), events);
        Assert.Equal(3, dead.Claim(chunks, 10).Count);
        Assert.Empty(alive.Claim(chunks, 10));

        await Task.Delay(TimeSpan.FromMilliseconds(1300));
        var taken = alive.Claim(chunks, 10);

        Assert.Equal(3, taken.Count);
        Assert.All(taken, t => Assert.True(t.TakenOver));
        Assert.Empty(dead.Renew(chunks));
        Assert.Empty(dead.Held(LeaseKind.Windows));
        Assert.Equal((3, 3), (events.ClaimedCount, events.TakenOverCount));
        Assert.True(events.RoundTrips > 0);
    }

    [PostgresFact]
    public async Task A_renewed_lease_outlives_its_period_and_a_released_one_is_free_at_once()
    {
        var chunks = Chunks(2);
        var holder = Open("holder", TimeSpan.FromSeconds(1));
        var other = Open("other", TimeSpan.FromSeconds(1));
        Assert.Equal(2, holder.Claim(chunks, 10).Count);

        for (var i = 0; i < 4; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(400));
            Assert.Equal(2, holder.Renew(chunks).Count);
            Assert.Empty(other.Claim(chunks, 10));
        }
        holder.Release([chunks[0]]);
        var freed = Assert.Single(other.Claim(chunks, 10));

        Assert.Equal((chunks[0], false), freed);
        Assert.Equal([chunks[1]], holder.Held(LeaseKind.Windows));
    }

    [PostgresFact]
    public async Task A_follow_lease_is_separate_from_window_leases_and_heartbeats_count_the_living()
    {
        var a = Open("a", TimeSpan.FromSeconds(1));
        var b = Open("b", TimeSpan.FromSeconds(1));
        Assert.Single(a.Claim([WorkLease.Follow(Btc)], 1));
        Assert.Single(a.Claim([new WorkLease(LeaseKind.Windows, Btc, DateTimeOffset.UnixEpoch)], 1));
        Assert.Empty(b.Claim([WorkLease.Follow(Btc)], 1));

        Assert.Equal(1, a.Heartbeat());
        Assert.Equal(2, b.Heartbeat());
        await Task.Delay(TimeSpan.FromMilliseconds(1300));
        Assert.Equal(1, b.Heartbeat());
    }

    private sealed class RecordedEvents : IFleetEvents
    {
        public int ClaimedCount { get; private set; }
        public int TakenOverCount { get; private set; }
        public int RoundTrips { get; private set; }

        public void Claimed(LeaseKind kind, int leases, int takenOver) => (ClaimedCount, TakenOverCount) = (ClaimedCount + leases, TakenOverCount + takenOver);
        public void RenewalFailed(LeaseKind kind, int leases) { }
        public void LeasesDropped(LeaseKind kind, int leases) { }
        public void WindowsClaimed(int windows, bool takenOver) { }
        public void WindowsCompleted(int windows) { }
        public void Pending(int chunks) { }
        public void Members(int count) { }
        public void DatabaseCall(TimeSpan elapsed, bool failed) => RoundTrips++;
    }
}
