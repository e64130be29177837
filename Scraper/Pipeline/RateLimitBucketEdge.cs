namespace Scraper.Pipeline;

/// <summary>
/// A group learnt that the exchange counts in fixed buckets (<paramref name="Known"/>), with the width of
/// the interval an edge lies in, or forgot it and is back to the sliding window alone.
/// </summary>
internal sealed record RateLimitBucketEdge(string Group, bool Known, TimeSpan Uncertainty);
