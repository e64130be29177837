using Scraper.Domain;

namespace Scraper.Exchange.Streaming;

/// <summary>Something the quotation stream reports; <see cref="At"/> is when it was received or happened (local clock).</summary>
internal abstract record StreamEvent(DateTimeOffset At);

/// <summary>A connection is open and subscribed to <paramref name="Pairs"/> (type, code) pairs.</summary>
internal sealed record StreamConnected(DateTimeOffset At, int Connection, int Pairs) : StreamEvent(At);

/// <summary>
/// A connection ended for <paramref name="Reason"/> (a bounded label: closed, aborted, dead,
/// refused, error); the next attempt starts after <paramref name="RetryIn"/>.
/// <paramref name="WasConnected"/> is false when the attempt never got as far as subscribing.
/// </summary>
internal sealed record StreamDisconnected(DateTimeOffset At, int Connection, string Reason, string Detail, bool WasConnected, TimeSpan RetryIn) : StreamEvent(At);

/// <summary>A candle as it stands now (the same interval comes again while it forms: the last one wins).</summary>
internal sealed record StreamCandle(DateTimeOffset At, Candle Candle, bool Snapshot) : StreamEvent(At);

/// <summary>A ticker update.</summary>
internal sealed record StreamTicker(DateTimeOffset At, string Market, decimal TradePrice, long Timestamp) : StreamEvent(At);

/// <summary>The answer to a keep-alive PING.</summary>
internal sealed record StreamStatus(DateTimeOffset At, string Status) : StreamEvent(At);

/// <summary>
/// An error message of the exchange, reported once per distinct error, with the subscription
/// that caused it; <paramref name="DroppedCodes"/> are the codes it names, left out from now on.
/// </summary>
internal sealed record StreamError(DateTimeOffset At, string Name, string Message, string Subscription, IReadOnlyList<string> DroppedCodes) : StreamEvent(At);

/// <summary>A message that could not be read (counted and skipped).</summary>
internal sealed record StreamMalformed(DateTimeOffset At, string Problem) : StreamEvent(At);
