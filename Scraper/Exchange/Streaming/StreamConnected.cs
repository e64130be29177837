namespace Scraper.Exchange.Streaming;

/// <summary>A connection is open and subscribed to <paramref name="Pairs"/> (type, code) pairs.</summary>
internal sealed record StreamConnected(DateTimeOffset At, int Connection, int Pairs) : StreamEvent(At);
