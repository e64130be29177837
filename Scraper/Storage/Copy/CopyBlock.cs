using Scraper.Domain;

namespace Scraper.Storage.Copy;

/// <summary>A block of one series to copy: its time range, and whether the target's coverage gains it.</summary>
/// <param name="Series">The series.</param>
/// <param name="Range">Candle starts in [Start, End).</param>
/// <param name="Covered">True when the source covers the whole range, so the target records it as fetched.</param>
internal sealed record CopyBlock(SeriesKey Series, TimeRange Range, bool Covered);
