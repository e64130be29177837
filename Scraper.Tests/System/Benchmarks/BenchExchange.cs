using System.Diagnostics;
using System.Globalization;
using Scraper.Tests.FakeExchange;
using Scraper.Tests.Integration;

namespace Scraper.Tests.Benchmarks;

/// <summary>
/// The fake exchange a benchmark run talks to: in a process of its own (FakeExchangeHost) when it is
/// built, so that its garbage collections and thread-pool stalls are not charged to the client
/// measured; in this test process otherwise (or with BITCOIN_PRICE_SCRAPER_BENCH_FAKE=inprocess).
/// </summary>
internal sealed class BenchExchange : IAsyncDisposable
{
    private readonly FakeUpbitExchange? _inProcess;
    private readonly Process? _host;

    private BenchExchange(FakeUpbitExchange? inProcess, Process? host, Uri baseUrl, FakeExchangeOptions options)
    {
        _inProcess = inProcess;
        _host = host;
        BaseUrl = baseUrl;
        Data = new FakeMarketData(options);
    }

    /// <summary>http://127.0.0.1:PORT</summary>
    public Uri BaseUrl { get; }

    /// <summary>The candles it serves (deterministic: the same in both processes).</summary>
    public FakeMarketData Data { get; }

    /// <summary>Where it runs, for the report.</summary>
    public string Where => _host is null ? "in the test process" : "in its own process";

    private static string HostDll => Path.Combine(Commands.RepoRoot, "Scraper.Tests", "FakeExchangeHost", "bin", "Release", "net10.0", "FakeExchangeHost.dll");

    /// <summary>Starts it with the scenario's latency, jitter, limiter and error rate.</summary>
    public static Task<BenchExchange> StartAsync(Scenario s, FakeExchangeOptions options)
    {
        var mode = s.Limiter switch { RateLimitMode.FixedBucket => "fixed", RateLimitMode.None => "none", _ => "sliding" };
        return StartAsync(options, [Ms(s.Latency), Ms(s.Jitter), mode, s.ErrorRate.ToString(CultureInfo.InvariantCulture)], extraMarkets: 0);
    }

    /// <summary>The default markets on a strict sliding window, answering after <paramref name="latency"/>.</summary>
    public static Task<BenchExchange> StartSlidingAsync(TimeSpan latency) => StartForFollowingAsync(0, latency);

    /// <summary>
    /// Starts it for a follower of many markets: the default markets and KRW-L001 to KRW-L<paramref name="extraMarkets"/>,
    /// answering after <paramref name="latency"/>, on a sliding window.
    /// </summary>
    public static Task<BenchExchange> StartForFollowingAsync(int extraMarkets, TimeSpan latency)
    {
        var options = new FakeExchangeOptions { Latency = latency };
        options.Markets = [.. options.Markets, .. Enumerable.Range(1, extraMarkets).Select(i => $"KRW-L{i:000}")];
        return StartAsync(options, [Ms(latency), "0", "sliding", "0"], extraMarkets);
    }

    private static async Task<BenchExchange> StartAsync(FakeExchangeOptions options, string[] hostArgs, int extraMarkets)
    {
        if (Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BENCH_FAKE") == "inprocess" || !File.Exists(HostDll))
        {
            var fake = await FakeUpbitExchange.StartAsync(options);
            return new BenchExchange(fake, null, fake.BaseUrl, options);
        }
        var info = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(HostDll);
        foreach (var a in hostArgs) info.ArgumentList.Add(a);
        if (extraMarkets > 0) info.Environment["FAKE_MARKETS"] = extraMarkets.ToString(CultureInfo.InvariantCulture);
        var host = Process.Start(info)!;
        var line = await host.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (line is null || !line.StartsWith("url ", StringComparison.Ordinal))
        {
            host.Kill();
            throw new InvalidOperationException($"FakeExchangeHost did not start: {line} {await host.StandardError.ReadToEndAsync()}");
        }
        return new BenchExchange(null, host, new Uri(line[4..] + "/"), options);
    }

    private static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString(CultureInfo.InvariantCulture);

    /// <summary>The process serving it (for its CPU time).</summary>
    public int Pid => _host?.Id ?? Environment.ProcessId;

    /// <summary>Forgets the request log.</summary>
    public async Task ClearRequestsAsync()
    {
        if (_inProcess is not null) _inProcess.ClearRequests();
        else await AskAsync("clear");
    }

    /// <summary>Every request received so far, with its status, counting and answer times.</summary>
    public async Task<IReadOnlyList<RecordedRequest>> RequestsAsync()
    {
        if (_inProcess is not null) return _inProcess.Requests;
        var lines = await AskAsync("dump");
        return [.. lines.Select(l => l.Split(' ', 5)).Select(f =>
        {
            var target = f[4].Split('?', 2);
            return new RecordedRequest(Unix(f[0]), target[0], target.Length > 1 ? target[1] : "", false, false)
            {
                CountedAt = Unix(f[1]),
                Status = int.Parse(f[2], CultureInfo.InvariantCulture),
                AnsweredAt = Unix(f[3]),
            };
        })];

        static DateTimeOffset Unix(string ms) => DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ms, CultureInfo.InvariantCulture));
    }

    /// <summary>429 and 418 answers sent.</summary>
    public async Task<(int Count429, int Count418)> RefusalsAsync()
    {
        if (_inProcess is not null) return (_inProcess.Count429, _inProcess.Count418);
        var f = (await AskAsync("stats"))[0].Split(' ');
        return (int.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[3], CultureInfo.InvariantCulture));
    }

    /// <summary>Stream messages sent so far, and when each stream connection was accepted.</summary>
    public async Task<(long Sent, IReadOnlyList<DateTimeOffset> AcceptedAt)> StreamAsync()
    {
        if (_inProcess is not null) return (_inProcess.Stream.Sent, _inProcess.Stream.AcceptedAt);
        var f = (await AskAsync("stream"))[0].Split(' ');
        return (long.Parse(f[1], CultureInfo.InvariantCulture),
            [.. f[3].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(ms => DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ms, CultureInfo.InvariantCulture)))]);
    }

    /// <summary>When the last candle request was received; MinValue before any.</summary>
    public async Task<DateTimeOffset> LastCandleRequestAsync()
    {
        if (_inProcess is not null)
            return _inProcess.Requests.Where(r => r.Path.StartsWith("/v1/candles", StringComparison.Ordinal)).Select(r => r.At).DefaultIfEmpty(DateTimeOffset.MinValue).Max();
        var ms = long.Parse((await AskAsync("lastcandle"))[0], CultureInfo.InvariantCulture);
        return ms == 0 ? DateTimeOffset.MinValue : DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }

    /// <summary>One command to the host; its answer lines (up to "end" for a dump).</summary>
    private async Task<List<string>> AskAsync(string command)
    {
        await _host!.StandardInput.WriteLineAsync(command);
        await _host.StandardInput.FlushAsync();
        var lines = new List<string>();
        while (await _host.StandardOutput.ReadLineAsync() is { } line)
        {
            if (command != "dump") return [line];
            if (line == "end") break;
            lines.Add(line);
        }
        return lines;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_inProcess is not null) await _inProcess.DisposeAsync();
        if (_host is not null)
        {
            _host.StandardInput.Close();
            if (!_host.WaitForExit(TimeSpan.FromSeconds(10))) _host.Kill();
            _host.Dispose();
        }
    }
}
