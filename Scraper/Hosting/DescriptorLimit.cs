using System.Runtime.InteropServices;

namespace Scraper.Hosting;

/// <summary>
/// The open-file limit. A NativeAOT program keeps the soft limit it was started with (often
/// 1,024), where the JIT runtime raises it; every connection to the metrics port takes one.
/// </summary>
internal static partial class DescriptorLimit
{
    private const int RlimitNofile = 7;
    private const ulong Infinity = ulong.MaxValue;
    /// <summary>The kernel's default per-process ceiling (fs.nr_open); asking for more than it fails.</summary>
    private const ulong NrOpenDefault = 1_048_576;

    /// <summary>What <see cref="RaiseSoftToHard"/> found and did.</summary>
    /// <param name="Before">The soft limit at start.</param>
    /// <param name="Now">The soft limit in force now.</param>
    /// <param name="Hard">The hard limit (the most an unprivileged process may ask for).</param>
    /// <param name="Errno">0, or why it could not be raised (EPERM under a seccomp filter that refuses setrlimit).</param>
    public sealed record Outcome(long Before, long Now, long Hard, int Errno);

    /// <summary>Raises the soft limit to the hard one (at most 1,048,576).</summary>
    public static Outcome RaiseSoftToHard()
    {
        if (GetRLimit(RlimitNofile, out var limit) != 0) return new Outcome(-1, -1, -1, Marshal.GetLastPInvokeError());
        var before = Clamp(limit.Current);
        var target = Math.Min(limit.Maximum, NrOpenDefault);
        if (limit.Current != Infinity && limit.Current < target)
        {
            var raised = limit with { Current = target };
            if (SetRLimit(RlimitNofile, raised) != 0) return new Outcome(before, before, Clamp(limit.Maximum), Marshal.GetLastPInvokeError());
            return new Outcome(before, Clamp(target), Clamp(limit.Maximum), 0);
        }
        return new Outcome(before, before, Clamp(limit.Maximum), 0);
    }

    /// <summary>Descriptors open now (0 when /proc is not there to tell).</summary>
    public static int OpenNow()
    {
        try
        {
            return Directory.GetFileSystemEntries("/proc/self/fd").Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static long Clamp(ulong value) => value > long.MaxValue ? long.MaxValue : (long)value;

    [StructLayout(LayoutKind.Sequential)]
    private record struct RLimit(ulong Current, ulong Maximum);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);
}
