namespace Scraper.Pipeline.Live;

/// <summary>A REST pass over <paramref name="Series"/> series started, because of <paramref name="Reason"/> (schedule, reconnect, poll).</summary>
internal sealed record LiveReconcileStarted(int Series, string Reason) : LiveEvent;
