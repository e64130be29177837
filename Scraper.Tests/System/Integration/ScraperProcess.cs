using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Scraper.Tests.Integration;

/// <summary>
/// The real daemon binary (the apphost the build puts beside the tests) run as a child process,
/// with its output captured, so tests exercise exactly what a user runs, signals included.
/// </summary>
public sealed partial class ScraperProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly object _gate = new();

    private ScraperProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_gate) _stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_gate) _stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The binary under test; BITCOIN_PRICE_SCRAPER_BIN overrides it (e.g. the NativeAOT build).</summary>
    /// <remarks>
    /// The build's own output folder (Scraper/bin/CONFIG/TFM, the configuration and framework of
    /// this test build), not the copy beside the tests: that copy resolves its dependencies
    /// through the test project, which differs (ASP.NET).
    /// </remarks>
    public static string BinaryPath =>
        Environment.GetEnvironmentVariable("BITCOIN_PRICE_SCRAPER_BIN") is { Length: > 0 } overridden
            ? overridden
            : BuiltBinaryPath();

    private static string BuiltBinaryPath()
    {
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        return RepoPaths.Combine("Scraper", "bin", framework.Parent!.Name, framework.Name, "bitcoin-price-scraper");
    }

    /// <summary>Starts the binary with a clean environment (plus <paramref name="environment"/>).</summary>
    public static ScraperProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null, string? binary = null)
    {
        var info = new ProcessStartInfo(binary ?? BinaryPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        // Nothing of the test runner's environment (systemd markers, SCRAPER_*) leaks in.
        foreach (var key in info.Environment.Keys.ToList())
        {
            if (key.StartsWith("SCRAPER_", StringComparison.Ordinal) || key is "JOURNAL_STREAM" or "INVOCATION_ID" or "NOTIFY_SOCKET" or "STATE_DIRECTORY" or "CREDENTIALS_DIRECTORY")
                info.Environment.Remove(key);
        }
        if (environment is not null) foreach (var (k, v) in environment) info.Environment[k] = v;
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + info.FileName);
        return new ScraperProcess(process);
    }

    /// <summary>Runs to completion (or kills it after <paramref name="timeout"/> and fails).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var p = Start(args, environment);
        var code = await p.WaitForExitAsync(timeout);
        return (code, p.Stdout, p.Stderr);
    }

    /// <summary>Process id.</summary>
    public int Pid => _process.Id;

    /// <summary>Everything written to stdout so far.</summary>
    public string Stdout { get { lock (_gate) return _stdout.ToString(); } }

    /// <summary>Everything written to stderr so far.</summary>
    public string Stderr { get { lock (_gate) return _stderr.ToString(); } }

    /// <summary>True once the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Waits for the exit; kills and throws when it takes longer than <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the scraper did not exit within {timeout}; stderr:\n{Stderr}");
        }
        _process.WaitForExit(); // flush the output readers
        return _process.ExitCode;
    }

    /// <summary>Sends a POSIX signal (SIGTERM = 15, SIGKILL = 9).</summary>
    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0) throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>SIGKILL: the hardest stop there is.</summary>
    public void KillHard()
    {
        if (!_process.HasExited) Signal(9);
        _process.WaitForExit();
    }

    /// <summary>Waits until GET /healthz on the port answers, or the process dies.</summary>
    public async Task WaitForHealthyAsync(int port, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the scraper exited with {_process.ExitCode}; stderr:\n{Stderr}");
            try
            {
                var r = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
                if (r.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(50);
        }
        throw new TimeoutException($"no /healthz on port {port} within {timeout}; stderr:\n{Stderr}");
    }

    /// <summary>A TCP port that was free a moment ago on 127.0.0.1.</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            _process.WaitForExit(5000);
        }
        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
