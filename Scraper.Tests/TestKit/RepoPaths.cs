namespace Scraper.Tests.TestKit;

/// <summary>Locates files of the repository checkout the tests were built from.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The folder holding Scraper.sln.</summary>
    public static string Root => LazyRoot.Value;

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Scraper.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Scraper.sln above {AppContext.BaseDirectory}");
    }
}
