using System.Globalization;
using Scraper.Domain;

namespace Scraper.Storage;

/// <summary>
/// The text forms of stored values, the same for every store and for exports. Instants are
/// "yyyy-MM-ddTHH:mm:ss" in UTC, the exchange's candle_date_time_utc format, with a fraction only when
/// there is one (trailing zeros trimmed): with that shape text order equals time order, so SQL can
/// compare instants as text. Decimals are invariant text that keeps every digit, trailing zeros included.
/// </summary>
internal static class StoredText
{
    internal const string InstantFormat = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF";
    private const string RecordedAtFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public static string Instant(DateTimeOffset instant) => instant.UtcDateTime.ToString(InstantFormat, CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseInstant(string text) =>
        DateTimeOffset.ParseExact(text, InstantFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    /// <summary>When a row was written (fetched_at, applied_at): UTC with milliseconds and a 'Z'.</summary>
    public static string RecordedAt(DateTimeOffset instant) => instant.UtcDateTime.ToString(RecordedAtFormat, CultureInfo.InvariantCulture);

    public static string Decimal(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    public static decimal ParseDecimal(string text) => decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    public static CandleUnit ParseUnit(string text) =>
        CandleUnit.TryParse(text, out var unit) ? unit : throw new StoreException($"unknown candle unit '{text}' in the store");
}
