using System.Reactive.Concurrency;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scraper.Metrics;
using Scraper.Storage;

namespace Scraper.Hosting;

/// <summary>The program: parses the command line, validates the configuration, runs the verb.</summary>
internal static partial class ScraperApp
{
    /// <summary>Runs one command line to its exit code.</summary>
    public static async Task<int> RunAsync(string[] args, ProgramContext app)
    {
        try
        {
            var request = new CommandLineInterface().Parse(args, app.Out, out var helpExit);
            if (request is null) return helpExit;
            var collects = request.Verb is Verb.Run or Verb.Backfill;
            var settings = SettingsLoader.Load(request.Settings, request.ConfigFile, app.Environment, app.Time.GetUtcNow(), needsWritableDb: collects);
            return request.Verb switch
            {
                Verb.Verify => VerifyVerb.Run(settings, app),
                Verb.Export => ExportVerb.Run(settings, request.Export!, app),
                Verb.Copy => await CopyVerb.RunAsync(settings, request.Copy!, app),
                _ => await CollectAsync(request.Verb, settings, app),
            };
        }
        catch (ConfigException e)
        {
            await app.Error.WriteLineAsync($"{ErrorPrefix(app)}bitcoin-price-scraper: {OneLine(e.Message)}");
            return ExitCodes.Config;
        }
        catch (StoreException e)
        {
            await app.Error.WriteLineAsync($"{ErrorPrefix(app)}bitcoin-price-scraper: {OneLine(e.Message)}");
            return ExitCodes.Database;
        }
    }

    /// <summary>A fatal error is one line whatever a value in it holds (line breaks are escaped).</summary>
    private static string OneLine(string message) =>
        message.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>Under systemd the fatal line carries &lt;3&gt; so that journalctl -p err shows it.</summary>
    private static string ErrorPrefix(ProgramContext app) => Logging.UnderSystemd(app.Environment) ? "<3>" : "";

    /// <summary>
    /// <c>run</c> and <c>backfill</c>: builds the one object graph, checks the markets through it
    /// before anything is opened or written (backfill checks them beside its first request), then
    /// runs the verb on it.
    /// </summary>
    private static async Task<int> CollectAsync(Verb verb, ScraperSettings settings, ProgramContext app)
    {
        using var loggers = Logging.CreateFactory(settings.LogLevel, Logging.UnderSystemd(app.Environment));
        using var root = new CompositionRoot(settings, app, loggers, DefaultScheduler.Instance);
        try
        {
            if (verb == Verb.Backfill) return await BackfillVerb.RunAsync(root, app);
            await root.CheckMarketsAsync(app.Stop);
            return await RunDaemonAsync(root, app);
        }
        finally
        {
            await root.LeaveWindowAsync();
        }
    }

    /// <summary>
    /// The daemon. Binds the metrics port and opens the database before the host starts, so
    /// systemd's READY=1 (sent once the host has started) means both are up.
    /// </summary>
    private static async Task<int> RunDaemonAsync(CompositionRoot root, ProgramContext app)
    {
        var (settings, loggers) = (root.Settings, root.Loggers);
        await using var listener = await StartMetricsAsync(settings, root.Metrics, loggers, app.Time);
        root.OpenStore();
        LogStarting(loggers.CreateLogger("Scraper.Main"), CompositionRoot.Version, string.Join(',', settings.Markets),
            string.Join(',', settings.Units), settings.Since.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            StoreFactory.Describe(settings.DbPath), settings.Listen.ToString(), settings.Credentials is null ? "no" : "yes");

        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ApplicationName = "bitcoin-price-scraper" });
        builder.Services.AddSingleton(loggers);
        builder.Services.AddSystemd();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = CandleCollectorShutdown);
        DaemonService? daemon = null;
        builder.Services.AddHostedService(sp => daemon = new DaemonService(root, sp.GetRequiredService<IHostApplicationLifetime>(), loggers.CreateLogger<DaemonService>()));
        using var host = builder.Build();
        await host.RunAsync(app.Stop);
        return daemon?.ExitCode ?? ExitCodes.Ok;
    }

    private static readonly TimeSpan CandleCollectorShutdown = Pipeline.CandleCollector.ShutdownGrace + TimeSpan.FromSeconds(3);

    private static async Task<MetricsListener> StartMetricsAsync(ScraperSettings settings, ScraperMetrics metrics, ILoggerFactory loggers, TimeProvider time)
    {
        var log = loggers.CreateLogger("Scraper.Main");
        var descriptors = DescriptorLimit.RaiseSoftToHard();
        if (descriptors.Errno != 0) LogDescriptorsNotRaised(log, descriptors.Before, descriptors.Hard, descriptors.Errno);
        else if (descriptors.Now > descriptors.Before) LogDescriptorsRaised(log, descriptors.Before, descriptors.Now);
        var listener = new MetricsListener(settings.Listen, metrics.Registry, loggers, MetricsServerLimits.ForDescriptorLimit(descriptors.Now, DescriptorLimit.OpenNow()), time);
        try
        {
            await listener.StartAsync();
            return listener;
        }
        catch (Exception e) when (MetricsListener.CannotBind(e))
        {
            await listener.DisposeAsync();
            throw new ConfigException($"invalid --listen '{settings.Listen}': cannot listen there ({MetricsListener.BindFailure(e)}); expected a free port on a local address");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "open-file limit raised from {Before} to {Now}")]
    private static partial void LogDescriptorsRaised(ILogger logger, long before, long now);

    [LoggerMessage(Level = LogLevel.Warning, Message = "open-file limit {Before} (hard limit {Hard}) could not be raised: errno {Errno}; metrics connections limited to half of it")]
    private static partial void LogDescriptorsNotRaised(ILogger logger, long before, long hard, int errno);

    /// <summary>Cancels <paramref name="source"/> on SIGINT and SIGTERM (one-shot verbs).</summary>
    internal static IDisposable[] CancelOnSignals(CancellationTokenSource source) =>
    [
        PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; source.Cancel(); }),
        PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; source.Cancel(); }),
    ];

    [LoggerMessage(Level = LogLevel.Information, Message = "bitcoin-price-scraper {Version}: markets {Markets}, units {Units}, since {Since}, database {Db}, metrics on {Listen}/metrics, API keys: {Keys}")]
    private static partial void LogStarting(ILogger logger, string version, string markets, string units, string since, string db, string listen, string keys);
}
