namespace Scraper.Tests.TestKit;

/// <summary>What a system test needs of the machine, and the Debian package that brings each program.</summary>
internal static class SystemRequirements
{
    /// <summary>Program → Debian package; build.sh's list of test packages holds the same pairs.</summary>
    private static readonly Dictionary<string, string> Packages = new(StringComparer.Ordinal)
    {
        ["prometheus"] = "prometheus",
        ["promtool"] = "prometheus",
        ["systemd-analyze"] = "systemd",
        ["systemd-nspawn"] = "systemd-container",
        ["debootstrap"] = "debootstrap",
        ["mkfs.ext4"] = "e2fsprogs",
        ["e2fsck"] = "e2fsprogs",
        ["sqlite3"] = "sqlite3",
    };

    public static bool IsRoot => Environment.UserName == "root";

    /// <summary>Null when everything is there, else why the test is skipped.</summary>
    public static string? Missing(IEnumerable<string> programs, bool root, string? skipVariable)
    {
        if (skipVariable is not null && Environment.GetEnvironmentVariable(skipVariable) == "1")
            return $"skipped by {skipVariable}=1";
        var reasons = new List<string>();
        if (root && !IsRoot) reasons.Add("root");
        var absent = programs.Where(p => FindProgram(p) is null).ToList();
        if (absent.Count > 0)
        {
            var packages = absent.Select(p => Packages.GetValueOrDefault(p, p)).Distinct(StringComparer.Ordinal);
            reasons.Add($"{string.Join(", ", absent)} (apt-get install {string.Join(' ', packages)})");
        }
        return reasons.Count == 0 ? null : "needs " + string.Join(" and ", reasons) + "; ./build.sh test as root installs what is missing";
    }

    /// <summary>The program's path on PATH (or in the sbin folders a non-root PATH may lack), or null.</summary>
    public static string? FindProgram(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        var folders = path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/sbin"]);
        return folders.Select(f => Path.Combine(f, name)).FirstOrDefault(File.Exists);
    }
}
