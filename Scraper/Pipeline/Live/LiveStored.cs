using Scraper.Domain;

namespace Scraper.Pipeline.Live;

/// <summary>
/// Stream candles of one series written in one batch; <paramref name="Lag"/> is the longest time
/// from an interval's close to its being stored, for candles stored after their close (null if none).
/// </summary>
internal sealed record LiveStored(SeriesKey Series, int Candles, TimeSpan? Lag) : LiveEvent;
