using System.Diagnostics;
using System.Globalization;
using Scraper.Tests.FakeExchange;

namespace Scraper.Tests.Integration;

/// <summary>Shared steps of the daemon tests: start `run` against a fake, read its metrics, wait for follow mode.</summary>
public static class DaemonHarness
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>Starts `run` with the given database, port and extra options.</summary>
    public static ScraperProcess Start(FakeUpbitExchange exchange, string db, int port, string markets, string since, IEnumerable<string>? more = null, IReadOnlyDictionary<string, string>? environment = null) =>
        Start(exchange.BaseUrl, db, port, markets, since, more, environment);

    /// <summary>The same against the exchange at <paramref name="exchangeUrl"/> (one in a process of its own).</summary>
    public static ScraperProcess Start(Uri exchangeUrl, string db, int port, string markets, string since, IEnumerable<string>? more = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var args = new List<string>
        {
            "run", "--upbit-url", exchangeUrl.ToString().TrimEnd('/'), "--db", db, "--listen", $"127.0.0.1:{port}",
            "--markets", markets, "--since", since,
        };
        if (more is not null) args.AddRange(more);
        return ScraperProcess.Start(args, environment);
    }

    /// <summary>GET /metrics.</summary>
    public static async Task<string> ScrapeAsync(int port) => await Http.GetStringAsync(new Uri($"http://localhost:{port}/metrics"));

    /// <summary>The value of one sample (`name{labels}`), or null when absent.</summary>
    public static double? Sample(string metrics, string nameAndLabels)
    {
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith(nameAndLabels + " ", StringComparison.Ordinal))
                return double.Parse(line[(nameAndLabels.Length + 1)..], CultureInfo.InvariantCulture);
        }
        return null;
    }

    /// <summary>The sum of every sample of a metric whose line contains all of <paramref name="labelParts"/>.</summary>
    public static double Sum(string metrics, string name, params string[] labelParts) =>
        metrics.Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) && labelParts.All(p => l.Contains(p, StringComparison.Ordinal)))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    /// <summary>Waits until every listed market's unit-1 series follows (its backfill is done).</summary>
    /// <remarks><paramref name="daemon"/> is null when the daemon is not our child (e.g. under systemd in a container).</remarks>
    public static Task WaitForFollowingAsync(ScraperProcess? daemon, int port, IEnumerable<string> markets, TimeSpan timeout, string unit = "1", TimeSpan? every = null) =>
        WaitForMetricsAsync(daemon, port, m => markets.All(market => Sample(m, $"scraper_following{{market=\"{market}\",unit=\"{unit}\"}}") == 1), timeout, "reach follow mode", every);

    /// <summary>Scrapes every 100 ms (or <paramref name="every"/>: a daemon with thousands of series takes a while to render) until <paramref name="condition"/> holds; returns that scrape.</summary>
    public static async Task<string> WaitForMetricsAsync(ScraperProcess? daemon, int port, Func<string, bool> condition, TimeSpan timeout, string what, TimeSpan? every = null)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (daemon is { HasExited: true }) throw new InvalidOperationException("daemon exited: " + daemon.Stderr);
            try
            {
                var m = await ScrapeAsync(port);
                if (condition(m)) return m;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { } // not up yet, or too busy to answer in time
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(100));
        }
        throw new TimeoutException($"the daemon did not {what} within {timeout.TotalSeconds:0} s: " + daemon?.Stderr);
    }

    /// <summary>SIGTERM and the exit code (fails after <paramref name="timeout"/>).</summary>
    public static async Task<int> StopAsync(ScraperProcess daemon, TimeSpan timeout)
    {
        daemon.Signal(15);
        return await daemon.WaitForExitAsync(timeout);
    }
}
