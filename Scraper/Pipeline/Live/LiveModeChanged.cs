namespace Scraper.Pipeline.Live;

/// <summary>Minute series switched between the stream (true) and polling (false).</summary>
internal sealed record LiveModeChanged(bool Streaming, string Reason) : LiveEvent;
