using System.Runtime.InteropServices;

namespace Scraper.Hosting;

/// <summary>
/// Keeps resident memory close to what the process uses; set first thing, before the work starts
/// threads. glibc gives each thread that allocates an arena of its own (up to 8 per core), and each
/// arena keeps freed memory resident: the thread pool's bursts of workers (a slice's continuations)
/// made several of them. Two arenas are plenty for a process whose threads mostly wait.
/// </summary>
internal static partial class ProcessMemory
{
    private const int MallocArenaMax = -8; // M_ARENA_MAX

    /// <summary>Best effort: where glibc's mallopt is missing the defaults stay.</summary>
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

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int parameter, int value);
}
