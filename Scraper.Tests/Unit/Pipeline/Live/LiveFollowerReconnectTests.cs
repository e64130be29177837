using Scraper.Domain;
using Scraper.Exchange.Streaming;
using Scraper.Pipeline;
using Scraper.Pipeline.Live;

namespace Scraper.Tests.Pipeline.Live;

/// <summary>What a reconnection costs in REST: only the intervals that closed while the stream was away, each series once.</summary>
public sealed partial class LiveFollowerTests
{
    [Fact]
    public async Task A_reconnection_reconciles_only_what_closed_while_the_stream_was_away_counted_from_the_last_message()
    {
        var follower = CreateFollower([Btc1], new LiveOptions { ReconcileEvery = TimeSpan.FromHours(3) }, out _);
        _ = follower.RunAsync(_stop.Token);
        _stream.OnNext(new StreamConnected(T0, 0, 1));
        await RunUntilAsync(At(3, 30)); // the reconciliation after the first connection and its follow-up; the next slot is hours away

        // A blip inside one minute: the snapshot on reconnecting brings the forming candle whole, nothing closed meanwhile.
        var blip = await OutageAsync(heard: At(3, 30), lost: At(3, 31), back: At(3, 33), "aborted");
        await RunUntilAsync(At(6, 57));
        var afterBlip = RequestsSince(blip);

        // A blip across a close: that minute's final value may be lost; one request once it can be covered.
        var acrossClose = await OutageAsync(heard: At(6, 57), lost: At(6, 58), back: At(7, 2), "aborted");
        await RunUntilAsync(At(10, 10));
        var afterAcross = RequestsSince(acrossClose);
        var coveredAfterAcross = _store.GetCoverage(Btc1)[^1].End;

        // A stall noticed long after the last message: minutes closed since that message are reconciled at once.
        var stall = await OutageAsync(heard: At(10, 10), lost: At(12, 40), back: At(12, 42), "dead");
        await RunUntilAsync(At(12, 50));
        var atOnce = RequestsSince(stall);
        var coveredAtOnce = _store.GetCoverage(Btc1)[^1].End;

        var log = string.Join(", ", _requests.Select(r => $"{r.At:HH:mm:ss}"));
        Assert.True(afterBlip.Count == 0, $"a blip inside a minute cost {afterBlip.Count} requests; all: {log}");
        Assert.True(afterAcross.Count == 1 && afterAcross[0] >= At(8, 0), $"a blip across a close cost {afterAcross.Count} requests; all: {log}");
        Assert.True(coveredAfterAcross >= At(7, 0), $"covered until {coveredAfterAcross:HH:mm:ss}");
        Assert.True(atOnce.Count == 1, $"a stall reconciled {atOnce.Count} times within 8 s of reconnecting; all: {log}");
        Assert.Equal(At(11, 0), coveredAtOnce);
    }

    private static DateTimeOffset At(int minute, int second) => T0.Date.AddMinutes(minute).AddSeconds(second);

    private async Task RunUntilAsync(DateTimeOffset t) => await RunForAsync(t - _time.GetUtcNow());

    /// <summary>The last message at <paramref name="heard"/>, the connection's end noticed at <paramref name="lost"/>, connected again at <paramref name="back"/>.</summary>
    private async Task<DateTimeOffset> OutageAsync(DateTimeOffset heard, DateTimeOffset lost, DateTimeOffset back, string reason)
    {
        await RunUntilAsync(heard);
        _stream.OnNext(_data.CandleAt(Btc1.Market, Btc1.Unit, Btc1.Unit.AlignDown(heard), heard) is { } forming ? Update(forming, heard) : new StreamStatus(heard, "UP"));
        await RunUntilAsync(lost);
        _stream.OnNext(new StreamDisconnected(lost, 0, reason, "test", WasConnected: true, TimeSpan.FromSeconds(1)));
        await RunUntilAsync(back);
        _stream.OnNext(new StreamConnected(back, 0, 1));
        return back;
    }

    private List<DateTimeOffset> RequestsSince(DateTimeOffset t) => [.. _requests.Where(r => r.At >= t).Select(r => r.At)];
}
