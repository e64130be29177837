using Scraper.Exchange;

namespace Scraper.Tests.FakeExchange;

/// <summary>How the exchange limits requests.</summary>
public enum RateLimitMode
{
    /// <summary>At most N requests in ANY window of 1000 ms.</summary>
    SlidingWindow,
    /// <summary>At most N requests per wall-clock second.</summary>
    FixedBucket,
    /// <summary>No limit.</summary>
    None,
}

/// <summary>How `count` is read.</summary>
public enum CountSemantics
{
    /// <summary>Candles in [to - count*unit, to).</summary>
    LastNIntervals,
    /// <summary>The last `count` existing candles before `to`, reaching further back over minutes without trades.</summary>
    LastNCandles,
}

/// <summary>Something to break in one response.</summary>
public enum FakeFault
{
    Http500, Http502, Http503, Http400, Http404, Http429, Http418,
    Hang, ResetMidBody, TruncatedJson, ErrorObjectInsteadOfArray, EmptyArray,
    CandlesOutsideWindow, DuplicateCandles, WrongContentType, SlowTrickle, HugeBody,
}

/// <summary>One request the exchange received.</summary>
public sealed record RecordedRequest(DateTimeOffset At, string Path, string Query, bool HasAuthorization, bool HasOrigin)
{
    /// <summary>The HTTP status the exchange answered with (0 while running).</summary>
    public int Status { get; set; }

    /// <summary>When the request was counted for rate limiting (after any arrival jitter).</summary>
    public DateTimeOffset CountedAt { get; set; }

    /// <summary>When the answer was sent whole (default while running).</summary>
    public DateTimeOffset AnsweredAt { get; set; }

    /// <summary>The client's address (the rate limit counts per source IP, as the exchange's does).</summary>
    public string SourceIp { get; set; } = "";
}

/// <summary>Behaviour of the fake exchange; mutable while it runs.</summary>
public sealed class FakeExchangeOptions
{
    public TimeProvider Time { get; set; } = TimeProvider.System;
    /// <summary>
    /// The exchange's clock minus <see cref="Time"/>: which candles exist, their values and the
    /// <c>Date</c> header follow it (the rate limit keeps counting on <see cref="Time"/>). Negative:
    /// the exchange is behind, as when the host's clock runs ahead. Set it while running to step the clock.
    /// </summary>
    public TimeSpan ClockOffset { get; set; }
    public IList<string> Markets { get; set; } = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "BTC-ETH", .. Enumerable.Range(1, 60).Select(i => $"KRW-C{i:000}")];
    public int CandleRequestsPerSecond { get; set; } = 10;
    public int TickerRequestsPerSecond { get; set; } = 10;
    public int ExchangeRequestsPerSecond { get; set; } = 30;
    public RateLimitMode RateLimit { get; set; } = RateLimitMode.SlidingWindow;
    public int BanAfter429s { get; set; } = 10;
    public TimeSpan BanDuration { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>
    /// Blocks the IP on demand: when it returns a duration for a request (as it arrives), every
    /// request from that one on — of any group — is answered 418 until the duration has passed.
    /// </summary>
    public Func<RecordedRequest, TimeSpan?>? BlockTrigger { get; set; }
    public CountSemantics Count { get; set; } = CountSemantics.LastNIntervals;
    public TimeSpan Latency { get; set; } = TimeSpan.Zero;
    public TimeSpan ArrivalJitter { get; set; } = TimeSpan.Zero;
    public int JitterSeed { get; set; } = 42;
    public double NoTradeProbability { get; set; } = 0.05;
    public DateTimeOffset? HistoryStart { get; set; }
    public Func<RecordedRequest, FakeFault?>? FaultInjector { get; set; }
    public string? AccessKey { get; set; }
    public string? SecretKey { get; set; }
    internal IList<Account> Accounts { get; set; } = [new("KRW", 1000000.5m, 0m, 0m, "KRW"), new("BTC", 0.12345678m, 0.001m, 95000000m, "KRW")];
}
