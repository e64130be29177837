using Scraper.Domain;
using Scraper.Exchange.Streaming;

namespace Scraper.Pipeline.Live;

/// <summary>What the live follower reports, for a metrics subscriber; the follower itself never touches metrics.</summary>
internal abstract record LiveEvent;

/// <summary>A stream event as it came (connections, messages, errors).</summary>
internal sealed record LiveStreamEvent(StreamEvent Event) : LiveEvent;

/// <summary>
/// Stream candles of one series written in one batch; <paramref name="Lag"/> is the longest time
/// from an interval's close to its being stored, for candles stored after their close (null if none).
/// </summary>
internal sealed record LiveStored(SeriesKey Series, int Candles, TimeSpan? Lag) : LiveEvent;

/// <summary>Minute series switched between the stream (true) and polling (false).</summary>
internal sealed record LiveModeChanged(bool Streaming, string Reason) : LiveEvent;

/// <summary>A REST pass over <paramref name="Series"/> series started, because of <paramref name="Reason"/> (schedule, reconnect, poll).</summary>
internal sealed record LiveReconcileStarted(int Series, string Reason) : LiveEvent;

/// <summary>A reconciliation of a streamed series wrote <paramref name="MissingFound"/> candles the stream had not stored.</summary>
internal sealed record LiveReconciled(SeriesKey Series, long MissingFound) : LiveEvent;
