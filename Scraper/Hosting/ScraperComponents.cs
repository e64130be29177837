using System.Reactive.Concurrency;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Scraper.Exchange;
using Scraper.Metrics;
using Scraper.Pipeline;
using Scraper.Storage;

namespace Scraper.Hosting;

/// <summary>
/// The object graph of one scraper, wired by hand so that what depends on what is visible in one
/// place: the exchange client, one rate-limit group per exchange group, the candle pipeline with
/// its store subscriber, and the periodic ticker and account quotes.
/// </summary>
public sealed class ScraperComponents : IDisposable
{
    /// <summary>The daemon's version, from the assembly (Directory.Build.props).</summary>
    public static string Version { get; } =
        typeof(ScraperComponents).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private readonly UpbitClient _client;
    private readonly List<IDisposable> _running = [];
    private readonly FailureLog _failures;

    /// <summary>Wires everything; starts nothing.</summary>
    public ScraperComponents(ScraperSettings settings, ICandleStore store, ScraperMetrics metrics, ILoggerFactory loggers, TimeProvider time, IScheduler scheduler)
    {
        Settings = settings;
        Metrics = metrics;
        _client = new UpbitClient(new UpbitClientOptions
        {
            BaseUrl = settings.UpbitUrl,
            RequestTimeout = settings.RequestTimeout,
            Credentials = settings.Credentials,
            UserAgent = $"bitcoin-price-scraper/{Version}",
        }, time);

        // An unanswered request may still reach the exchange until the client gives up on it.
        var limits = new RateLimitOptions { RequestsPerWindow = settings.Rate, MaxInFlightHold = settings.RequestTimeout + TimeSpan.FromSeconds(1) };
        // The exchange blocks the IP, not a group: one block for all of them.
        var block = new IpBlock(scheduler, limits);
        CandleLimiter = new RateLimitGroup("candles", limits, scheduler, block);
        TickerLimiter = new RateLimitGroup("ticker", limits, scheduler, block);
        AccountsLimiter = new RateLimitGroup("accounts", limits, scheduler, block);
        var failures = _failures = new FailureLog(loggers.CreateLogger("Scraper.Exchange"), time);
        var limiterLog = loggers.CreateLogger("Scraper.RateLimiter");
        foreach (var limiter in Limiters)
        {
            _running.Add(limiter.Pauses.Subscribe(p => RateLimitLog.Paused(limiterLog, p),
                onError: e => _failures.Failure(limiter.Name, "limiter_failed", LogLevel.Critical, $"pause notifications ended: {e.GetType().Name}: {e.Message}")));
        }
        Metrics.Registry.AddBeforeCollectCallback(PublishLimiterState);

        var clock = new ClockSkewMonitor(Metrics, loggers.CreateLogger("Scraper.Clock"));
        var pipeline = new CandleFetchPipeline(_client, CandleLimiter, new RetryPolicy(), scheduler, Metrics, failures, loggers.CreateLogger<CandleFetchPipeline>(), clock);
        var writer = new CandleResultWriter(store, Metrics, time, loggers.CreateLogger<CandleResultWriter>());
        Collector = new CandleCollector(settings.Series, settings.Since, store, pipeline, CandleLimiter, writer, Metrics, time, scheduler, loggers.CreateLogger<CandleCollector>());
        Live = new LiveWiring(settings, store, Collector, Metrics, loggers, time, scheduler);

        Ticker = new PeriodicQuote<IReadOnlyList<Ticker>>(
            ct => _client.GetTickersAsync(settings.Markets, ct), PublishTickers, TickerLimiter, settings.TickerInterval, scheduler, Metrics, failures, "ticker");
        Accounts = settings.Credentials is null ? null : new PeriodicQuote<IReadOnlyList<Account>>(
            _client.GetAccountsAsync, PublishAccounts, AccountsLimiter, TimeSpan.FromSeconds(60), scheduler, Metrics, failures, "accounts");
    }

    /// <summary>The validated settings.</summary>
    public ScraperSettings Settings { get; }
    /// <summary>The metrics and their registry.</summary>
    public ScraperMetrics Metrics { get; }
    /// <summary>Backfill and follow.</summary>
    public CandleCollector Collector { get; }
    /// <summary>Follow mode: the stream or polling.</summary>
    public LiveWiring Live { get; }
    /// <summary>The candle endpoints' group.</summary>
    public RateLimitGroup CandleLimiter { get; }
    /// <summary>The ticker's group.</summary>
    public RateLimitGroup TickerLimiter { get; }
    /// <summary>The keyed API's group.</summary>
    public RateLimitGroup AccountsLimiter { get; }
    /// <summary>The live price poller.</summary>
    public PeriodicQuote<IReadOnlyList<Ticker>> Ticker { get; }
    /// <summary>The balance poller; null without keys.</summary>
    public PeriodicQuote<IReadOnlyList<Account>>? Accounts { get; }

    private IEnumerable<RateLimitGroup> Limiters => [CandleLimiter, TickerLimiter, AccountsLimiter];

    /// <summary>Starts the ticker (and account) polling.</summary>
    public void StartQuotes()
    {
        _running.Add(Ticker.Start());
        if (Accounts is not null) _running.Add(Accounts.Start());
    }

    /// <summary>Stops every limiter: nothing new is sent.</summary>
    public void StopSending()
    {
        foreach (var limiter in Limiters) limiter.Stop();
    }

    private void PublishLimiterState()
    {
        foreach (var limiter in Limiters)
        {
            Metrics.LimiterPaused.WithLabels(limiter.Name).Set(limiter.IsPaused ? 1 : 0);
            Metrics.LimiterWindow.WithLabels(limiter.Name).Set(limiter.CurrentWindow.TotalSeconds);
        }
    }

    private void PublishTickers(IReadOnlyList<Ticker> tickers)
    {
        foreach (var t in tickers)
        {
            Metrics.TickerPrice.WithLabels(t.Market).Set((double)t.TradePrice);
            Metrics.TickerTimestamp.WithLabels(t.Market).Set(t.Timestamp / 1000.0);
        }
    }

    private void PublishAccounts(IReadOnlyList<Account> accounts)
    {
        foreach (var a in accounts)
        {
            Metrics.AccountBalance.WithLabels(a.Currency).Set((double)a.Balance);
            Metrics.AccountLocked.WithLabels(a.Currency).Set((double)a.Locked);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var d in _running) d.Dispose();
        _failures.CloseAll(); // bursts still going at the stop are summed up, not lost
        foreach (var limiter in Limiters) limiter.Dispose();
        _client.Dispose();
    }
}

/// <summary>Log lines of the rate limiter.</summary>
internal static partial class RateLimitLog
{
    public static void Paused(ILogger logger, RateLimitPause pause)
    {
        switch (pause.Reason)
        {
            case PauseReason.Banned:
                LogBanned(logger, pause.Group, pause.Until.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
                break;
            case PauseReason.RateLimited:
                LogRateLimited(logger, pause.Group, pause.Margin.TotalMilliseconds);
                break;
            default:
                LogExhausted(logger, pause.Group);
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Group}: the exchange blocked this IP (HTTP 418); no requests of any group until {Until}, then one probe")]
    private static partial void LogBanned(ILogger logger, string group, string until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Group}: rate-limited (HTTP 429); pausing one window and slowing to 1 s + {Margin:0} ms per batch")]
    private static partial void LogRateLimited(ILogger logger, string group, double margin);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Group}: the exchange reports its budget spent (Remaining-Req sec=0) earlier than expected; waiting for the window to pass")]
    private static partial void LogExhausted(ILogger logger, string group);
}
