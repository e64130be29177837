using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Reactive.Threading.Tasks;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Scraper.Domain;
using Scraper.Exchange;
using Scraper.Exchange.Streaming;
using Scraper.Metrics;
using Scraper.Pipeline;
using Scraper.Pipeline.Live;
using Scraper.Storage;

namespace Scraper.Hosting;

/// <summary>
/// The object graph of one scraper, built once and by hand so that what depends on what is visible
/// in one place: the metrics and their subscriber, the exchange client, one rate-limit group per
/// exchange group (every request goes through one, the market check included), the periodic
/// ticker (asked only for what the live stream does not deliver) and account pollers, and — once
/// the store is open — the candle pipeline with its store subscriber. Owns and disposes all of it,
/// the store included.
/// </summary>
internal sealed class CompositionRoot : IDisposable
{
    /// <summary>The daemon's version, from the assembly (Directory.Build.props).</summary>
    public static string Version { get; } =
        typeof(CompositionRoot).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private readonly ProgramContext _app;
    private readonly IScheduler _scheduler;
    private readonly UpbitClient _client;
    private readonly MetricsSubscriber _telemetry;
    private readonly FailureLog _failures;
    private readonly ClockSkewMonitor _clock;
    private readonly ExchangeAttempts _marketList;
    private readonly CandleFetchPipeline _candlePipeline;
    private readonly List<IDisposable> _running = [];
    private readonly Subject<LiveEvent> _liveEvents = new();
    private ICandleStore? _store;
    private CandleCollector? _collector;
    private FleetWork? _fleet;
    private LiveWiring? _live;

    /// <summary>Wires the exchange side; opens nothing, sends nothing.</summary>
    public CompositionRoot(ScraperSettings settings, ProgramContext app, ILoggerFactory loggers, IScheduler scheduler)
    {
        Settings = settings;
        Loggers = loggers;
        _app = app;
        _scheduler = scheduler;
        Metrics = new ScraperMetrics(Prometheus.Metrics.NewCustomRegistry(), Version);
        _telemetry = new MetricsSubscriber(Metrics);
        _client = new UpbitClient(new UpbitClientOptions
        {
            BaseUrl = settings.UpbitUrl,
            RequestTimeout = settings.RequestTimeout,
            Credentials = settings.Credentials,
            UserAgent = $"bitcoin-price-scraper/{Version}",
            BindAddress = settings.BindAddress,
        }, app.Time);

        // An unanswered request may still reach the exchange until the client gives up on it.
        var limits = new RateLimitOptions { RequestsPerWindow = settings.Rate, ReserveForOthers = settings.ReserveForOthers, MaxInFlightHold = settings.RequestTimeout + TimeSpan.FromSeconds(1) };
        // The exchange blocks the IP, not a group: one block for all of them.
        var block = new IpBlock(scheduler, limits);
        CandleLimiter = new RateLimitGroup("candles", limits, scheduler, block);
        TickerLimiter = new RateLimitGroup("ticker", limits, scheduler, block);
        AccountsLimiter = new RateLimitGroup("accounts", limits, scheduler, block);
        MarketLimiter = new RateLimitGroup("market", limits, scheduler, block);
        _failures = new FailureLog(loggers.CreateLogger("Scraper.Exchange"), app.Time);
        var limiterLog = loggers.CreateLogger("Scraper.RateLimiter");
        foreach (var limiter in Limiters)
        {
            _running.Add(limiter.Pauses.Subscribe(p => RateLimitLog.Paused(limiterLog, p),
                onError: e => _failures.Failure(limiter.Name, "limiter_failed", LogLevel.Critical, $"pause notifications ended: {e.GetType().Name}: {e.Message}")));
            _running.Add(limiter.BucketEdges.Subscribe(e => RateLimitLog.BucketEdge(limiterLog, e),
                onError: e => _failures.Failure(limiter.Name, "limiter_failed", LogLevel.Critical, $"bucket notifications ended: {e.GetType().Name}: {e.Message}")));
        }
        _telemetry.Watch([CandleLimiter, TickerLimiter, AccountsLimiter]);
        _clock = new ClockSkewMonitor(_telemetry, loggers.CreateLogger("Scraper.Clock"));
        _marketList = new ExchangeAttempts(MarketLimiter, _telemetry, _failures);
        _candlePipeline = new CandleFetchPipeline(_client, CandleLimiter, new RetryPolicy(), scheduler, _telemetry, _failures, loggers.CreateLogger<CandleFetchPipeline>(), _clock);

        Ticker = new QuotePoller<IReadOnlyList<Ticker>>(_telemetry.Tickers, TickerLimiter, settings.TickerInterval, scheduler, _telemetry, _failures, "ticker");
        Accounts = settings.Credentials is null ? null : new QuotePoller<IReadOnlyList<Account>>(
            _telemetry.Accounts, AccountsLimiter, TimeSpan.FromSeconds(60), scheduler, _telemetry, _failures, "accounts");
        var metricsLog = loggers.CreateLogger("Scraper.Metrics");
        _running.Add(_liveEvents.OfType<LiveStreamEvent>().Select(e => e.Event).OfType<StreamTicker>().Subscribe(_telemetry.StreamTicker,
            onError: e => metricsLog.LogError("stream ticker metrics stopped: {Type}: {Message}", e.GetType().Name, e.Message)));
    }

    /// <summary>The validated settings.</summary>
    public ScraperSettings Settings { get; }
    /// <summary>The loggers every part logs to.</summary>
    public ILoggerFactory Loggers { get; }
    /// <summary>The metrics and their registry.</summary>
    public ScraperMetrics Metrics { get; }
    /// <summary>The candle endpoints' group.</summary>
    public RateLimitGroup CandleLimiter { get; }
    /// <summary>The ticker's group.</summary>
    public RateLimitGroup TickerLimiter { get; }
    /// <summary>The keyed API's group.</summary>
    public RateLimitGroup AccountsLimiter { get; }
    /// <summary>The market list's group (the start-up check).</summary>
    public RateLimitGroup MarketLimiter { get; }
    /// <summary>The live price poller.</summary>
    public QuotePoller<IReadOnlyList<Ticker>> Ticker { get; }
    /// <summary>The balance poller; null without keys.</summary>
    public QuotePoller<IReadOnlyList<Account>>? Accounts { get; }

    /// <summary>Backfill and follow; there once <see cref="OpenStore"/> ran.</summary>
    public CandleCollector Collector => _collector ?? throw new InvalidOperationException("the store is not open yet");

    /// <summary>Follow mode: the stream or polling; there once <see cref="OpenStore"/> ran.</summary>
    public LiveWiring Live => _live ?? throw new InvalidOperationException("the store is not open yet");

    private IEnumerable<RateLimitGroup> Limiters => [CandleLimiter, TickerLimiter, AccountsLimiter, MarketLimiter];

    /// <summary>Refuses configured markets the exchange does not list (one request, through the market group).</summary>
    public Task CheckMarketsAsync(CancellationToken cancellationToken) =>
        MarketCheck.EnsureListedAsync(Settings,
            ct => _marketList.Send(_client.GetMarketsAsync, "market list").FirstOrDefaultAsync().ToTask(ct),
            Loggers.CreateLogger("Scraper.Main"), cancellationToken);

    /// <summary>Fetches one window through the candle group (its attempts and retries) and writes nothing: the store need not be open. Null when a stop ended its retries.</summary>
    public Task<WindowResult?> FetchWindowAsync(CandleWindow window, CancellationToken cancellationToken) =>
        _candlePipeline.FetchWindow(window).Select(r => (WindowResult?)r).FirstOrDefaultAsync().ToTask(cancellationToken);

    /// <summary>Opens the store for writing and wires the candle pipeline to it; the root disposes it.</summary>
    public ICandleStore OpenStore()
    {
        if (_store is not null) return _store;
        var store = _store = StoreFactory.Open(Settings, _app, readOnly: false, Loggers, Metrics);
        var writer = new CandleResultWriter(store, _telemetry, _app.Time, Loggers.CreateLogger<CandleResultWriter>());
        _fleet = FleetSetup.Open(Settings, store, Metrics, Loggers, _app);
        _collector = new CandleCollector(Settings.Series, Settings.Since, store, _candlePipeline, CandleLimiter, writer, _telemetry, _app.Time, _scheduler, Loggers.CreateLogger<CandleCollector>(), _fleet);
        _live = new LiveWiring(Settings, store, _collector, Metrics, Loggers, _app.Time, _scheduler, _liveEvents, _fleet);
        return store;
    }

    /// <summary>Starts the ticker (and account) polling; the ticker asks only for the markets the stream does not deliver.</summary>
    public void StartQuotes()
    {
        var tickers = TickerGate.Due(Settings.Markets, Ticker.Ticks, _liveEvents, TickerGate.StaleAfter(Settings.TickerInterval), _scheduler)
            .Select(markets => (Func<CancellationToken, Task<ExchangeResponse<IReadOnlyList<Ticker>>>>)(ct => _client.GetTickersAsync(markets, ct)));
        _running.Add(Ticker.Start(tickers));
        if (Accounts is not null) _running.Add(Accounts.Start(_client.GetAccountsAsync));
    }

    /// <summary>
    /// Waits until no request of this process can still be counted in the exchange's window (a second at
    /// most), so that a process started right after this one ends (a restart, a script's next backfill)
    /// does not find the window full and its first request refused.
    /// </summary>
    public Task LeaveWindowAsync() => Task.Delay(Limiters.Select(l => l.UntilOwnPlacesLeft()).Max(), _app.Time);

    /// <summary>Stops every limiter: nothing new is sent.</summary>
    public void StopSending()
    {
        foreach (var limiter in Limiters) limiter.Stop();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var d in _running) d.Dispose();
        _liveEvents.Dispose();
        _failures.CloseAll(); // bursts still going at the stop are summed up, not lost
        foreach (var limiter in Limiters) limiter.Dispose();
        _client.Dispose();
        _fleet?.Leases.Dispose(); // after the collector has stopped: gives the leases back
        _store?.Dispose();
    }
}
