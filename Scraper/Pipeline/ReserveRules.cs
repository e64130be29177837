namespace Scraper.Pipeline;

/// <summary>
/// What a group does beyond <see cref="SharePolicy"/> when it keeps places free for other clients
/// on the IP (<see cref="RateLimitOptions.ReserveForOthers"/> above zero): the reserved places must
/// stay free in the window as a whole, which the group only knows from counts that are a round trip
/// old or more. Without a reserve none of this applies and a lone process keeps its whole rate.
/// </summary>
internal static class ReserveRules
{
    /// <summary>
    /// Others' places are taken to stay filled until a later count replaces them (a client that
    /// fills its share sends again as its places leave the window), at most for the quiet period:
    /// the booking that makes a place counted at <paramref name="at"/> leave the window then.
    /// </summary>
    public static DateTimeOffset OthersBooking(RateLimitOptions options, DateTimeOffset at) =>
        options.ReserveForOthers > 0 ? at + options.OthersQuietAfter - options.Window : at;

    /// <summary>
    /// Held places are only as good as the count behind them: once it is a window old and nothing
    /// of ours is in flight (no newer count is coming), one request may go to learn the window anew.
    /// </summary>
    public static DateTimeOffset ProbeAt(RateLimitOptions options, DateTimeOffset lastCount, bool anyInFlight) =>
        options.ReserveForOthers > 0 && !anyInFlight ? lastCount + options.Window : DateTimeOffset.MaxValue;

    /// <summary>
    /// For one window after the first answer a request goes only once the last is answered: a first
    /// answer that fell between another client's slices shows an empty window, and a full slice on
    /// its word would meet that client's next one.
    /// </summary>
    public static bool OneAtATime(RateLimitOptions options, DateTimeOffset now, DateTimeOffset firstAnswer) =>
        options.ReserveForOthers > 0 && now - options.Window < firstAnswer;
}
