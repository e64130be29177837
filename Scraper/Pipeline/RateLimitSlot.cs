namespace Scraper.Pipeline;

/// <summary>
/// One place in the window: a lease of ours (booked once answered, at its latest arrival), or a
/// phantom place the exchange counted that we did not send (booked at once).
/// </summary>
internal sealed class RateLimitSlot(DateTimeOffset granted, RateLimitLease? lease, DateTimeOffset? booked = null)
{
    public DateTimeOffset Granted { get; } = granted;

    public DateTimeOffset? Booked => lease is null ? booked : lease.Booked;

    public bool InFlight => Booked is null;

    public bool IsPhantom => lease is null;

    /// <summary>When this place leaves the window.</summary>
    public DateTimeOffset FreeAt(TimeSpan window, TimeSpan maxHold) =>
        Booked is { } at ? at + window : Granted + (maxHold > window ? maxHold : window);
}
