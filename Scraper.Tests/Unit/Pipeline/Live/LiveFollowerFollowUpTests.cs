using Scraper.Domain;
using Scraper.Exchange.Streaming;
using Scraper.Pipeline.Live;

namespace Scraper.Tests.Pipeline.Live;

/// <summary>
/// The follow-up after a connection (the interval that closed just before it, once it can be
/// covered) is spread over its own slots, so many series never send theirs as one burst that
/// would crowd out a backfill sharing the REST budget.
/// </summary>
public sealed partial class LiveFollowerTests
{
    [Fact]
    public async Task After_connecting_400_markets_at_5_and_15_minutes_the_follow_ups_trickle_instead_of_bursting()
    {
        // Distinct markets per unit, so a request's market tells its unit.
        SeriesKey[] fives = [.. Enumerable.Range(0, 400).Select(i => new SeriesKey($"KRW-F{i:000}", CandleUnit.FromMinutes(5)))];
        SeriesKey[] fifteens = [.. Enumerable.Range(0, 400).Select(i => new SeriesKey($"KRW-Q{i:000}", CandleUnit.FromMinutes(15)))];
        var follower = CreateFollower([.. fives, .. fifteens], new LiveOptions { ReconcileEvery = TimeSpan.FromHours(3) }, out _);
        _ = follower.RunAsync(_stop.Token);
        _stream.OnNext(new StreamConnected(T0, 0, fives.Length + fifteens.Length));
        await RunUntilAsync(At(3, 0));
        var atOnce = _requests.Count;
        await RunUntilAsync(At(20, 0));

        var later = _requests.Skip(atOnce).ToList();
        var perMinute = later.GroupBy(r => r.At.Minute).Select(g => (Minute: g.Key, Count: g.Count())).ToList();
        var log = string.Join(", ", perMinute.Select(m => $"00:{m.Minute:00} {m.Count}"));
        Assert.True(atOnce == 800, $"{atOnce} requests for the reconciliation on connecting; then per minute: {log}");
        // At most a few follow-ups a minute for the two units together: the backfill beside keeps its rate.
        Assert.True(perMinute.All(m => m.Count <= 10), $"follow-ups per minute: {log}");
        // The first series of each unit is not delayed: its follow-up comes as soon as it can be covered.
        Assert.Contains(later, r => r.Market == fives[0].Market && r.At < At(5, 3));
        Assert.Contains(later, r => r.Market == fifteens[0].Market && r.At < At(15, 3));
    }
}
