namespace Scraper.Domain;

/// <summary>A half-open UTC range [Start, End).</summary>
internal readonly record struct TimeRange(DateTimeOffset Start, DateTimeOffset End)
{
    /// <summary>True when the range holds no instant.</summary>
    public bool IsEmpty => End <= Start;

    /// <summary>True when <paramref name="instant"/> lies in [Start, End).</summary>
    public bool Contains(DateTimeOffset instant) => instant >= Start && instant < End;

    /// <inheritdoc />
    public override string ToString() => $"[{Start.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}, {End.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ})";
}
