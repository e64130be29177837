namespace Scraper.Hosting;

/// <summary>The export verb's own options, raw.</summary>
internal sealed record ExportRequest(string? Market, string? Unit, string? From, string? To, string Format);
