namespace Scraper.Storage.Copy;

/// <summary>How a copy ended.</summary>
internal sealed record CopySummary(int Series, int Blocks, long Candles, bool Stopped);
