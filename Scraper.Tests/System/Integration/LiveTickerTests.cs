using System.Globalization;
using Scraper.Tests.FakeExchange;
using Xunit.Abstractions;

namespace Scraper.Tests.Integration;

/// <summary>
/// The real daemon's live prices while it follows over the fake's WebSocket: the ticker metrics move
/// with the stream's ticker and the REST ticker is not asked; once the stream is cut off and refused,
/// REST ticker polling resumes. Also when only day candles are followed: they are not on the stream
/// and are polled, but the ticker still comes from it.
/// </summary>
public sealed class LiveTickerTests(ITestOutputHelper output) : FakeExchangeTest(new FakeExchangeOptions
{
    Markets = ["KRW-L001", "KRW-L002", "KRW-L003"],
})
{
    private static readonly TimeSpan Steady = TimeSpan.FromSeconds(12);

    [Theory]
    [InlineData("1")]
    [InlineData("day")]
    public async Task While_the_stream_delivers_the_ticker_comes_from_it_and_REST_ticker_polling_resumes_when_it_is_refused(string units)
    {
        var markets = Exchange.Options.Markets.ToList();
        var port = ScraperProcess.FreePort();
        using var daemon = DaemonHarness.Start(Exchange, Db, port, string.Join(',', markets),
            DateTimeOffset.UtcNow.AddMinutes(-30).ToString("o", CultureInfo.InvariantCulture),
            ["--units", units, "--ticker-interval", "1s", "--stream-ping", "1s"]);
        await DaemonHarness.WaitForFollowingAsync(daemon, port, markets, TimeSpan.FromSeconds(60), units);
        await DaemonHarness.WaitForMetricsAsync(daemon, port, x => DaemonHarness.Sample(x, "scraper_stream_connections") == 1, TimeSpan.FromSeconds(30), "connect the stream");
        await Task.Delay(TimeSpan.FromSeconds(2)); // a request sent just before the connection may still be answered

        var from = DateTimeOffset.UtcNow;
        var first = await DaemonHarness.ScrapeAsync(port);
        await Task.Delay(Steady);
        var last = await DaemonHarness.ScrapeAsync(port);
        var steady = TickerRequestsSince(from);

        foreach (var market in markets)
        {
            var name = $"upbit_ticker_timestamp_seconds{{market=\"{market}\"}}";
            Assert.True(DaemonHarness.Sample(last, name) >= DaemonHarness.Sample(first, name) + Steady.TotalSeconds / 2,
                $"{name} did not move with the stream: {DaemonHarness.Sample(first, name)} then {DaemonHarness.Sample(last, name)}");
            Assert.NotNull(DaemonHarness.Sample(last, $"upbit_ticker_trade_price{{market=\"{market}\"}}"));
        }
        Assert.True(steady.Length == 0, $"{steady.Length} REST ticker requests in {Steady.TotalSeconds:0} s of streaming (none expected)");

        // A proxy starts refusing WebSocket: the open connection is cut and cannot be re-established.
        Exchange.Stream.Options.RefuseAll = true;
        Exchange.Stream.DisconnectAll();
        var cut = DateTimeOffset.UtcNow;
        await DaemonHarness.WaitForMetricsAsync(daemon, port, _ => TickerRequestsSince(cut).Length >= 3, TimeSpan.FromSeconds(30), "poll the REST ticker again");
        var resumed = TickerRequestsSince(cut)[0].At;
        await Task.Delay(TimeSpan.FromSeconds(10));
        var polled = TickerRequestsSince(resumed).Count(r => r.At < resumed + TimeSpan.FromSeconds(10));
        Assert.Equal(0, await DaemonHarness.StopAsync(daemon, TimeSpan.FromSeconds(10)));

        output.WriteLine($"units {units}: REST ticker requests: {steady.Length / Steady.TotalMinutes:0}/min while the stream delivered ({steady.Length} in {Steady.TotalSeconds:0} s); " +
                         $"the first {(resumed - cut).TotalSeconds:0.0} s after the stream was cut and refused, then {polled * 6}/min ({polled} in 10 s)");
    }

    private RecordedRequest[] TickerRequestsSince(DateTimeOffset from) =>
        [.. Exchange.Requests.Where(r => r.Path == "/v1/ticker" && r.At >= from).OrderBy(r => r.At)];
}
