using System.Diagnostics;

namespace Scraper.Tests.TestKit;

/// <summary>The repository and the command-line tools the end-to-end tests drive.</summary>
public static class Commands
{
    /// <summary>The repository root (where Scraper.sln is), found above the test assembly.</summary>
    public static string RepoRoot => RepoPaths.Root;

    /// <summary>Runs a program to its end (at most five minutes) and returns its exit code and output (stdout then stderr).</summary>
    public static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null) info.WorkingDirectory = workingDirectory;
        foreach (var a in args) info.ArgumentList.Add(a);
        if (environment is not null) foreach (var (k, v) in environment) info.Environment[k] = v;
        using var p = Process.Start(info) ?? throw new InvalidOperationException("could not start " + file);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout + stderr);
    }

    /// <summary>Runs a program (a system tool a test needs, such as mount) and fails the test unless it exits 0.</summary>
    public static async Task RunCheckedAsync(string file, params string[] args)
    {
        var (code, text) = await RunAsync(file, args);
        Assert.True(code == 0, $"{file} {string.Join(' ', args)}: {text}");
    }
}
