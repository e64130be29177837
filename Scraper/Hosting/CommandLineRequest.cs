namespace Scraper.Hosting;

/// <summary>What the command line asked for, before validation.</summary>
internal sealed record CommandLineRequest(
    Verb Verb,
    string? ConfigFile,
    IReadOnlyDictionary<string, string> Settings,
    ExportRequest? Export,
    CopyRequest? Copy = null);
