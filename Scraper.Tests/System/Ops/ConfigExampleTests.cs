using System.Text.Json;
using System.Text.RegularExpressions;

namespace Scraper.Tests.Ops;

/// <summary>packaging/config.example.json, which install.sh turns into the first config.json.</summary>
public sealed class ConfigExampleTests
{
    private static readonly string[] Keys =
    [
        "UpbitUrl", "Markets", "Units", "Since", "Until", "Db", "Listen", "Rate", "TickerInterval",
        "AccessKey", "SecretKey", "AccessKeyFile", "SecretKeyFile", "RequestTimeout",
    ];

    private static string Text => File.ReadAllText(RepoPaths.Combine("packaging", "config.example.json"));

    [Fact]
    public void Example_ParsesAsJsonWithComments()
    {
        // The .NET JSON configuration provider skips comments; so does this parse.
        using var document = JsonDocument.Parse(Text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });

        Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
    }

    [Fact]
    public void Example_SetsTheDocumentedDefaults()
    {
        using var document = JsonDocument.Parse(Text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        var root = document.RootElement;

        Assert.Equal("https://api.upbit.com", root.GetProperty("UpbitUrl").GetString());
        Assert.Equal("0.0.0.0:8081", root.GetProperty("Listen").GetString());
        Assert.Equal(10, root.GetProperty("Rate").GetInt32());
        Assert.Equal("1s", root.GetProperty("TickerInterval").GetString());
        Assert.Equal("10s", root.GetProperty("RequestTimeout").GetString());
        // Setting Db would override the $STATE_DIRECTORY default the service relies on.
        Assert.False(root.TryGetProperty("Db", out _));
    }

    [Theory]
    [MemberData(nameof(AllKeys))]
    public void Example_ShowsEveryKey_WithACommentAboveIt(string key)
    {
        var lines = Text.Split('\n').Select(l => l.Trim()).ToList();

        // Set ("Key": ...) or shown commented out (// "Key": ...) when it has no fixed default.
        var index = lines.FindIndex(l => Regex.IsMatch(l, $"^(// )?\"{key}\":"));
        Assert.True(index > 0, $"{key} is missing");
        var above = lines[index - 1];
        Assert.True(above.StartsWith("//", StringComparison.Ordinal), $"{key} has no comment above it");
    }

    public static TheoryData<string> AllKeys() => [.. Keys];
}
