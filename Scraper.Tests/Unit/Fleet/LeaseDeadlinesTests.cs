using Microsoft.Extensions.Time.Testing;
using Scraper.Domain;
using Scraper.Storage;

namespace Scraper.Tests.Fleet;

/// <summary>How the lease store times its leases: from the start of the claim or renewal that granted them, never from its end.</summary>
public sealed class LeaseDeadlinesTests
{
    private static readonly WorkLease Btc = WorkLease.Follow(new SeriesKey("KRW-BTC", CandleUnit.FromMinutes(1)));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_renewal_that_hung_past_the_drop_holds_the_lease_again_until_a_period_after_its_start_not_after_its_end()
    {
        var deadlines = new LeaseDeadlines(TimeSpan.FromSeconds(3), _time);
        deadlines.Hold(Btc, deadlines.Now());
        _time.Advance(TimeSpan.FromSeconds(1));
        var renewing = deadlines.Now();
        _time.Advance(TimeSpan.FromSeconds(2.5)); // the renewal hangs in the store's retry

        Assert.Equal([Btc], deadlines.DropExpired(LeaseKind.Follow));
        deadlines.Renewed(Btc, renewing); // the database answers: still this scraper's

        Assert.True(deadlines.Holds(Btc));
        _time.Advance(TimeSpan.FromSeconds(0.5));
        Assert.False(deadlines.Holds(Btc));
        Assert.Equal([Btc], deadlines.DropExpired(LeaseKind.Follow));
    }

    [Fact]
    public void A_lease_given_back_while_its_renewal_was_under_way_stays_given_back()
    {
        var deadlines = new LeaseDeadlines(TimeSpan.FromSeconds(3), _time);
        deadlines.Hold(Btc, deadlines.Now());
        var renewing = deadlines.Now();
        deadlines.Forget(Btc); // released: the chunk ended while its renewal was on the way
        deadlines.Renewed(Btc, renewing);

        Assert.False(deadlines.Holds(Btc));
        Assert.Empty(deadlines.Held(LeaseKind.Follow));
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.Empty(deadlines.DropExpired(LeaseKind.Follow));
    }

    [Fact]
    public void A_renewal_extends_a_lease_from_its_start_and_a_drop_takes_only_the_expired_ones_of_its_kind()
    {
        var deadlines = new LeaseDeadlines(TimeSpan.FromSeconds(3), _time);
        var chunk = new WorkLease(LeaseKind.Windows, Btc.Series, DateTimeOffset.UnixEpoch);
        deadlines.Hold(Btc, deadlines.Now());
        deadlines.Hold(chunk, deadlines.Now());
        _time.Advance(TimeSpan.FromSeconds(2));
        deadlines.Renewed(Btc, deadlines.Now());
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(deadlines.Holds(Btc));
        Assert.False(deadlines.Holds(chunk));
        Assert.Empty(deadlines.DropExpired(LeaseKind.Follow));
        Assert.Equal([chunk], deadlines.DropExpired(LeaseKind.Windows));
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal([Btc], deadlines.DropExpired(LeaseKind.Follow));
    }
}
