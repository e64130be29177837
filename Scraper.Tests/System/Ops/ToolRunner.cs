using System.ComponentModel;
using System.Diagnostics;

namespace Scraper.Tests.Ops;

/// <summary>What a finished external tool printed and returned.</summary>
internal sealed record ToolResult(string Command, int ExitCode, string StdOut, string StdErr)
{
    /// <summary>Everything needed to understand a failed assertion.</summary>
    public override string ToString() =>
        $"$ {Command}\nexit code {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>Runs the real operational tools (promtool, systemd-analyze, sh, tar) as processes.</summary>
internal static class ToolRunner
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Debian packages that provide the tools, for the message when one is missing.</summary>
    private static readonly Dictionary<string, string> Packages = new(StringComparer.Ordinal)
    {
        ["promtool"] = "prometheus",
        ["systemd-analyze"] = "systemd",
        ["setpriv"] = "util-linux",
        ["sha256sum"] = "coreutils",
    };

    public static async Task<ToolResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepoPaths.Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var command = string.Join(' ', start.ArgumentList.Prepend(fileName));
        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            var package = Packages.GetValueOrDefault(fileName, fileName);
            throw new InvalidOperationException(
                $"Cannot run '{fileName}' ({e.Message}): install the Debian package '{package}'.", e);
        }

        process.StandardInput.Close();
        using var cancel = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var stdout = process.StandardOutput.ReadToEndAsync(cancel.Token);
        var stderr = process.StandardError.ReadToEndAsync(cancel.Token);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{command}' did not finish within {timeout ?? DefaultTimeout}.");
        }

        return new ToolResult(command, process.ExitCode, await stdout, await stderr);
    }

    public static Task<ToolResult> RunAsync(string fileName, params string[] arguments) =>
        RunAsync(fileName, (IEnumerable<string>)arguments);
}
