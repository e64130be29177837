namespace Scraper.Pipeline;

/// <summary>What one pass over the wanted range did.</summary>
public sealed record PassSummary(int WindowsPlanned, int WindowsFetched, int WindowsSkipped, long CandlesWritten, bool Stopped);
