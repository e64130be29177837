namespace Scraper.Pipeline;

/// <summary>
/// How fast a group may go after 429s: permits per slice and the penalty added to the window, and
/// since when the last 429 (or the last recovery step) counts.
/// </summary>
internal readonly record struct Pace(int Permits, TimeSpan Penalty, DateTimeOffset Since);
