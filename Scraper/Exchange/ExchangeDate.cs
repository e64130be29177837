namespace Scraper.Exchange;

/// <summary>
/// The exchange's clock as one response showed it: its <c>Date</c> header, in whole seconds (the
/// exchange's clock read between <see cref="Date"/> and one second later when it answered), and this
/// host's clock at the middle of the round trip.
/// </summary>
internal sealed record ExchangeDate(DateTimeOffset Date, DateTimeOffset LocalMidpoint)
{
    private static readonly TimeSpan HalfSecond = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// This host's clock minus the exchange's; positive when this host is ahead. The header
    /// truncates to the second, so the exchange's clock is taken half a second after it: what is
    /// left uncertain is half a second plus half the round trip.
    /// </summary>
    public TimeSpan Skew => LocalMidpoint - (Date + HalfSecond);
}
