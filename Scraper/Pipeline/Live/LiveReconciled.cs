using Scraper.Domain;

namespace Scraper.Pipeline.Live;

/// <summary>A reconciliation of a streamed series wrote <paramref name="MissingFound"/> candles the stream had not stored.</summary>
internal sealed record LiveReconciled(SeriesKey Series, long MissingFound) : LiveEvent;
