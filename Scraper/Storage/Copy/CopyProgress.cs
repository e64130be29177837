using Scraper.Domain;

namespace Scraper.Storage.Copy;

/// <summary>Where a copy stands: candles copied of those planned, and the block being written.</summary>
internal sealed record CopyProgress(long CandlesDone, long CandlesTotal, int BlocksDone, int BlocksTotal, SeriesKey? Series);
