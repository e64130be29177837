namespace Scraper.Pipeline;

/// <summary>
/// How many places of the exchange's window this process's own requests may hold, since when that
/// last changed, when another client on the IP was last seen, and the fullest count of the window
/// the exchange reported since the change.
/// </summary>
internal readonly record struct Share(int Limit, DateTimeOffset ChangedAt, DateTimeOffset OthersSeenAt, int FullestSeen);
