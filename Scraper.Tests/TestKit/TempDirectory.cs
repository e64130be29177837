using System.Runtime.Versioning;

namespace Scraper.Tests.Ops;

/// <summary>A fresh directory below /tmp, deleted with everything in it on dispose.</summary>
[SupportedOSPlatform("linux")]
internal sealed class TempDirectory : IDisposable
{
    private const UnixFileMode WorldReadable =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("scraper-ops-").FullName;
        // CreateTempSubdirectory makes it 0700; the non-root test user must be able to read it.
        File.SetUnixFileMode(Path, WorldReadable);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder must not turn a passing test red.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
