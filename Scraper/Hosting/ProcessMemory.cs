using System.Globalization;
using System.Runtime.InteropServices;

namespace Scraper.Hosting;

/// <summary>
/// Keeps resident memory close to what the process uses. glibc gives each thread that allocates an
/// arena of its own (up to 8 per core), and each arena keeps freed memory resident: the thread
/// pool's bursts of workers (a slice's continuations) made several of them. Two arenas are plenty
/// for a process whose threads mostly wait. And the start touches most of the executable's code and
/// read-only data (the kernel maps file pages in 64 KiB blocks around each one touched), far more
/// than following uses afterwards; the kernel would keep that resident until memory runs short.
/// </summary>
internal static partial class ProcessMemory
{
    private const int MallocArenaMax = -8; // M_ARENA_MAX
    private const int MadvPageout = 21; // MADV_PAGEOUT, Linux 5.4

    /// <summary>Best effort, first thing, before the work starts threads: where glibc's mallopt is missing the defaults stay.</summary>
    public static void Configure()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            Mallopt(MallocArenaMax, 2);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (musl has one arena anyway).
        }
    }

    /// <summary>
    /// Once the start is over: hands the executable's read-only pages back to the kernel
    /// (MADV_PAGEOUT), so that only those used from now on come back. Pages another process maps
    /// too (a second scraper from the same file) stay. Returns the KiB of file pages the process
    /// holds fewer afterwards; 0 where that cannot be done (not Linux, kernel before 5.4).
    /// </summary>
    public static long ReleaseStartPages()
    {
        if (!OperatingSystem.IsLinux() || Environment.ProcessPath is not { } executable) return 0;
        try
        {
            var before = ResidentFileKb();
            foreach (var (start, length) in ReadOnlyMappings(File.ReadLines("/proc/self/maps"), executable)) Madvise((nint)start, (nuint)length, MadvPageout);
            return Math.Max(0, before - ResidentFileKb());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or EntryPointNotFoundException or DllNotFoundException)
        {
            return 0;
        }
    }

    /// <summary>The read-only mappings (code and constant data) of <paramref name="path"/> in a /proc/PID/maps listing.</summary>
    public static IEnumerable<(ulong Start, ulong Length)> ReadOnlyMappings(IEnumerable<string> maps, string path)
    {
        foreach (var line in maps)
        {
            // 5581cbe00000-5581cc5fe000 r-xp 00a00000 fd:01 1234   /opt/scraper/bitcoin-price-scraper
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6 || fields[5].Trim() != path || fields[1].Contains('w', StringComparison.Ordinal)) continue;
            var dash = fields[0].IndexOf('-', StringComparison.Ordinal);
            var start = ulong.Parse(fields[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var end = ulong.Parse(fields[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            yield return (start, end - start);
        }
    }

    private static long ResidentFileKb()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("RssFile:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line["RssFile:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int parameter, int value);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
