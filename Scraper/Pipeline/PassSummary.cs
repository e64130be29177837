namespace Scraper.Pipeline;

/// <summary>What one pass over the wanted range did.</summary>
internal sealed record PassSummary(int WindowsPlanned, int WindowsFetched, int WindowsSkipped, long CandlesWritten, bool Stopped);
