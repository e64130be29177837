using Microsoft.Extensions.Hosting;

namespace Scraper.Metrics;

/// <summary>
/// The metrics server's host lifetime: it takes no signals. The default console lifetime would
/// claim SIGTERM for the metrics server alone, so a stop that arrives before the daemon's own host
/// has started would close /metrics and leave the daemon running.
/// </summary>
internal sealed class NoSignalLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
