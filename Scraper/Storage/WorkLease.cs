using Scraper.Domain;

namespace Scraper.Storage;

/// <summary>
/// A claim on part of the shared work. <paramref name="Start"/> is the start of a chunk of windows
/// for <see cref="LeaseKind.Windows"/>, <see cref="DateTimeOffset.UnixEpoch"/> for a follow lease.
/// </summary>
internal sealed record WorkLease(LeaseKind Kind, SeriesKey Series, DateTimeOffset Start)
{
    /// <summary>The follow lease of a series.</summary>
    public static WorkLease Follow(SeriesKey series) => new(LeaseKind.Follow, series, DateTimeOffset.UnixEpoch);

    /// <inheritdoc />
    public override string ToString() => Kind == LeaseKind.Follow ? $"follow {Series}" : $"{Series} chunk {Start.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}";
}
