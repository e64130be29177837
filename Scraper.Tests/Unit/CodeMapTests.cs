using System.Text.RegularExpressions;

namespace Scraper.Tests;

/// <summary>
/// The folder tree of Scraper/ is its architecture (README.md, "Code map"): a folder may use only
/// the folders of a lower layer, so the vocabulary depends on nothing and the database code never
/// on the HTTP client. Read from the sources' using directives and qualified names.
/// </summary>
public sealed partial class CodeMapTests
{
    /// <summary>Top-level folders of Scraper/ by layer; a folder's subfolders belong to it.</summary>
    private static readonly Dictionary<string, int> Layers = new(StringComparer.Ordinal)
    {
        ["Domain"] = 0,
        ["Exchange"] = 1,
        ["Storage"] = 1,
        ["Pipeline"] = 2,
        // The pipeline only reports events; the metrics subscribe to them, so they sit above it.
        ["Metrics"] = 3,
        ["Hosting"] = 4,
    };

    private static string Source => RepoPaths.Combine("Scraper");

    private static IEnumerable<(string Folder, string File)> SourceFiles() =>
        Directory.EnumerateFiles(Source, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .Select(f => (Path.GetRelativePath(Source, f).Split('/')[0], f));

    [Fact]
    public void Every_source_file_lives_in_a_folder_of_the_code_map()
    {
        var outside = SourceFiles().Where(s => !Layers.ContainsKey(s.Folder) && s.Folder != "Program.cs").Select(s => s.File).ToList();
        Assert.Empty(outside);
    }

    [Fact]
    public void No_folder_uses_a_folder_of_its_own_or_a_higher_layer()
    {
        var violations = new List<string>();
        foreach (var (folder, file) in SourceFiles().Where(s => Layers.ContainsKey(s.Folder)))
        {
            foreach (var used in UsedFolders(File.ReadAllText(file)).Where(u => u != folder && Layers.ContainsKey(u)))
            {
                if (Layers[used] >= Layers[folder]) violations.Add($"{Path.GetRelativePath(Source, file)} uses Scraper.{used}");
            }
        }
        Assert.Empty(violations);
    }

    [Fact]
    public void The_check_sees_a_using_directive_and_a_qualified_name()
    {
        Assert.Equal(["Exchange", "Storage"], UsedFolders("using Scraper.Exchange;\nvar s = new Scraper.Storage.Thing(); // Scraper.Metrics in a comment\n").Order());
    }

    [Fact]
    public void No_source_file_is_over_400_lines()
    {
        var long_ = SourceFiles().Select(s => (s.File, Lines: File.ReadLines(s.File).Count())).Where(f => f.Lines > 400)
            .Select(f => $"{Path.GetRelativePath(Source, f.File)}: {f.Lines}").ToList();
        Assert.Empty(long_);
    }

    private static IEnumerable<string> UsedFolders(string code)
    {
        var withoutComments = LineComment().Replace(code, "");
        return QualifiedName().Matches(withoutComments).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"(?<![\w.])Scraper\.(\w+)")]
    private static partial Regex QualifiedName();
}
