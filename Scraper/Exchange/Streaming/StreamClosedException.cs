namespace Scraper.Exchange.Streaming;

/// <summary>Why a connection ended; <see cref="Reason"/> is a bounded label for metrics.</summary>
internal sealed class StreamClosedException(string reason, string detail) : Exception(detail)
{
    /// <summary>closed, aborted, dead, refused.</summary>
    public string Reason { get; } = reason;
}
