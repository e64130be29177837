using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Scraper.Metrics;

/// <summary>
/// Serves the registry on <c>http://HOST:PORT/metrics</c> and a liveness probe on <c>/healthz</c>
/// with Kestrel, bound to exactly the configured address (no host-name matching: any Host header
/// is accepted). HTTP/1.1 with keep-alive; timeouts and limits from <see cref="MetricsServerLimits"/>.
/// <para>
/// The daemon's job is collecting prices, not serving scrapes: the registry is rendered at most
/// once per <see cref="RenderMaxAge"/> and format, by one scrape for all that arrive meanwhile,
/// so a crowd of scrapers costs the collector a few renderings a second; responses start at most
/// <see cref="MetricsServerLimits.MaxScrapesPerSecond"/> a second, and a scrape that hangs up
/// while waiting gives its turn back. /healthz renders nothing and never waits.
/// </para>
/// </summary>
internal sealed class MetricsListener : IAsyncDisposable
{
    /// <summary>How old a rendered /metrics page may be when it is served again.</summary>
    public static readonly TimeSpan RenderMaxAge = MetricsRenderCache.MaxAge;

    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);
    private readonly ListenAddress _address;
    private readonly MetricsServerLimits _limits;
    private readonly MetricsRenderCache _renders;
    private readonly ConnectionGate _gate;
    private readonly ServerLogging _logging;
    private readonly TokenBucketRateLimiter _turns;
    private WebApplication? _app;

    /// <summary>Prepares the server; nothing is bound until <see cref="StartAsync"/>.</summary>
    public MetricsListener(ListenAddress address, CollectorRegistry registry, ILoggerFactory? loggers = null, MetricsServerLimits? limits = null, TimeProvider? time = null)
    {
        _address = address;
        _limits = limits ?? new MetricsServerLimits();
        _renders = new MetricsRenderCache(registry, time ?? TimeProvider.System);
        _gate = new ConnectionGate(_limits.MaxConnections);
        _logging = new ServerLogging(loggers ?? NullLoggerFactory.Instance);
        // Ten refills a second keep the turns even; a bucket of a tenth of a second's worth lets
        // a few scrapers that arrive together start at once.
        var perRefill = Math.Max(1, _limits.MaxScrapesPerSecond / 10);
        _turns = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = perRefill,
            TokensPerPeriod = perRefill,
            ReplenishmentPeriod = TimeSpan.FromSeconds((double)perRefill / _limits.MaxScrapesPerSecond),
            QueueLimit = _limits.MaxWaitingScrapes,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    /// <summary>The port actually bound (useful with port 0).</summary>
    public int Port { get; private set; }

    /// <summary>Renderings of the registry so far.</summary>
    internal int Renders => _renders.Renders;

    /// <summary>Connections closed to make room for newer ones.</summary>
    internal long Evicted => _gate.Evicted;

    /// <summary>Connections held now.</summary>
    internal int HeldConnections => _gate.Count;

    /// <summary>Binds the address and serves; throws when it cannot bind (see <see cref="CannotBind"/>).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        // Lines must end in CRLF: a bare-LF request gets 400 and costs no rendering. Prometheus never
        // sends one, and a server that reads bare LF as a line end disagrees with strict proxies.
        AppContext.SetSwitch("Microsoft.AspNetCore.Server.Kestrel.DisableHttp1LineFeedTerminators", true);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "bitcoin-price-scraper" });
        builder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(_logging);
        // A connect flood overflows a short accept queue, and a scraper's SYN dropped there is
        // retried only after a second; the kernel caps this at net.core.somaxconn.
        builder.WebHost.UseSockets(sockets => sockets.Backlog = 4096);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = _limits.MaxConnections + MetricsServerLimits.ClosingHeadroom;
            kestrel.Limits.KeepAliveTimeout = _limits.KeepAliveTimeout;
            kestrel.Limits.RequestHeadersTimeout = _limits.RequestHeadersTimeout;
            kestrel.Limits.MaxRequestHeadersTotalSize = _limits.MaxRequestHeadBytes;
            kestrel.Limits.MaxRequestLineSize = Math.Min(_limits.MaxRequestHeadBytes, 4 * 1024);
            kestrel.Limits.MaxRequestBodySize = 0; // GET and HEAD carry none
            kestrel.Listen(_address.ToEndPoint(), listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listen.Use(_gate.Middleware);
            });
        });
        var app = builder.Build();
        app.Run(new MetricsEndpoint(_renders, _gate, _turns).HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        _app = app;
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(bound).Port;
        _logging.Started();
    }

    /// <summary>True when <paramref name="e"/>, from <see cref="StartAsync"/>, means the address cannot be bound (taken, not local, not permitted).</summary>
    public static bool CannotBind(Exception e)
    {
        for (var x = (Exception?)e; x is not null; x = x.InnerException)
        {
            if (x is SocketException or AddressInUseException) return true;
        }
        return false;
    }

    /// <summary>The reason for a bind failure, as the system says it.</summary>
    public static string BindFailure(Exception e)
    {
        for (var x = (Exception?)e; x is not null; x = x.InnerException)
        {
            if (x is SocketException or AddressInUseException) return x.Message;
        }
        return e.Message;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            using var grace = new CancellationTokenSource(StopGrace);
            try
            {
                await app.StopAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                // Scrapes still running after the grace are cut off; the process is stopping.
            }
            await app.DisposeAsync();
        }
        _renders.Dispose();
        await _turns.DisposeAsync();
    }
}
