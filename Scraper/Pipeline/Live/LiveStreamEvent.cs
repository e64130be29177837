using Scraper.Exchange.Streaming;

namespace Scraper.Pipeline.Live;

/// <summary>A stream event as it came (connections, messages, errors).</summary>
internal sealed record LiveStreamEvent(StreamEvent Event) : LiveEvent;
