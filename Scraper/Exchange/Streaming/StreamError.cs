namespace Scraper.Exchange.Streaming;

/// <summary>
/// An error message of the exchange, reported once per distinct error, with the subscription
/// that caused it; <paramref name="DroppedCodes"/> are the codes it names, left out from now on.
/// </summary>
internal sealed record StreamError(DateTimeOffset At, string Name, string Message, string Subscription, IReadOnlyList<string> DroppedCodes) : StreamEvent(At);
