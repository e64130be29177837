namespace Scraper.Hosting;

/// <summary>The copy verb's own options, raw: the store to read and the store to write.</summary>
internal sealed record CopyRequest(string? From, string? To);
