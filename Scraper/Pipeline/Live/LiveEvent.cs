namespace Scraper.Pipeline.Live;

/// <summary>What the live follower reports, for a metrics subscriber; the follower itself never touches metrics.</summary>
internal abstract record LiveEvent;

