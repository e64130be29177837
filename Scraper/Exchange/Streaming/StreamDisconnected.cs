namespace Scraper.Exchange.Streaming;

/// <summary>
/// A connection ended for <paramref name="Reason"/> (a bounded label: closed, aborted, dead,
/// refused, error); the next attempt starts after <paramref name="RetryIn"/>.
/// <paramref name="WasConnected"/> is false when the attempt never got as far as subscribing.
/// </summary>
internal sealed record StreamDisconnected(DateTimeOffset At, int Connection, string Reason, string Detail, bool WasConnected, TimeSpan RetryIn) : StreamEvent(At);
