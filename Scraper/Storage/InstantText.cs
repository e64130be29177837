using System.Globalization;

namespace Scraper.Storage;

/// <summary>
/// The text form of instants in the store and in exports: "yyyy-MM-ddTHH:mm:ss" in UTC, the
/// exchange's candle_date_time_utc format, with a fraction only when there is one (trailing zeros
/// trimmed). With that shape text order equals time order, so SQL compares instants as text.
/// </summary>
internal static class InstantText
{
    private const string Format = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF";

    public static string From(DateTimeOffset instant) => instant.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture);

    public static DateTimeOffset Parse(string text) =>
        DateTimeOffset.ParseExact(text, Format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
