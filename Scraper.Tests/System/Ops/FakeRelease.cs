using System.Runtime.Versioning;

namespace Scraper.Tests.Ops;

/// <summary>
/// An unpacked release folder laid out like the tarball, built from the repository's files with
/// a dummy executable in place of the NativeAOT binary.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class FakeRelease
{
    public const UnixFileMode Executable =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public const UnixFileMode Readable =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public static string Create(string directory)
    {
        Directory.CreateDirectory(Path.Combine(directory, "bin"));
        Directory.CreateDirectory(Path.Combine(directory, "systemd"));
        WriteExecutable(Path.Combine(directory, "bin", "bitcoin-price-scraper"), "#!/bin/sh\necho dummy daemon\n");
        File.WriteAllText(Path.Combine(directory, "bin", "libe_sqlite3.so"), "not really a library\n");
        File.Copy(RepoPaths.Combine("packaging", "install.sh"), Path.Combine(directory, "install.sh"));
        File.Copy(RepoPaths.Combine("packaging", "config.example.json"), Path.Combine(directory, "config.example.json"));
        File.Copy(RepoPaths.Combine("systemd", "bitcoin-price-scraper.service"), Path.Combine(directory, "systemd", "bitcoin-price-scraper.service"));
        PrometheusRulesTests.CopyDirectory(RepoPaths.Combine("prometheus"), Path.Combine(directory, "prometheus"));
        PrometheusRulesTests.CopyDirectory(RepoPaths.Combine("grafana"), Path.Combine(directory, "grafana"));
        File.WriteAllText(Path.Combine(directory, "README.md"), "# readme\n");
        File.WriteAllText(Path.Combine(directory, "LICENSE"), "license\n");
        MakeWorldReadable(directory);
        return directory;
    }

    public static void WriteExecutable(string path, string content)
    {
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, Executable);
    }

    /// <summary>Lets the unprivileged user of the refusal test read the release folder.</summary>
    private static void MakeWorldReadable(string directory)
    {
        File.SetUnixFileMode(directory, Executable);
        foreach (var dir in Directory.GetDirectories(directory, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(dir, Executable);
        }

        foreach (var file in Directory.GetFiles(directory, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(file, (File.GetUnixFileMode(file) & UnixFileMode.UserExecute) != 0 ? Executable : Readable);
        }
    }
}
