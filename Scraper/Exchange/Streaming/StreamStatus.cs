namespace Scraper.Exchange.Streaming;

/// <summary>The answer to a keep-alive PING.</summary>
internal sealed record StreamStatus(DateTimeOffset At, string Status) : StreamEvent(At);
