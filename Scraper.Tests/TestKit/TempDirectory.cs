namespace Scraper.Tests.TestKit;

/// <summary>A fresh directory below the temporary folder, deleted with everything in it on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    private const UnixFileMode WorldReadable =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("scraper-test-").FullName;
        // CreateTempSubdirectory makes it 0700; a tool a root test runs as nobody must be able to read it.
        if (OperatingSystem.IsLinux()) System.IO.File.SetUnixFileMode(Path, WorldReadable);
    }

    public string Path { get; }

    /// <summary>A path below the directory.</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>A file directly in the directory.</summary>
    public string File(string name) => Combine(name);

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
