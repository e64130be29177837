using System.Globalization;
using System.Text.RegularExpressions;

namespace Scraper.Hosting;

/// <summary>Parses the human forms of durations and instants the options accept.</summary>
internal static partial class Durations
{
    [GeneratedRegex(@"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Relative();

    /// <summary>"500ms", "1s", "5m", "12h", "30d", "2w", or a TimeSpan such as "00:00:01".</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = Relative().Match(text);
        if (match.Success)
        {
            var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            var unit = match.Groups[2].Value.ToLowerInvariant() switch
            {
                "ms" => TimeSpan.FromMilliseconds(1),
                "s" => TimeSpan.FromSeconds(1),
                "m" => TimeSpan.FromMinutes(1),
                "h" => TimeSpan.FromHours(1),
                "d" => TimeSpan.FromDays(1),
                _ => TimeSpan.FromDays(7),
            };
            // Compared as doubles first: TimeSpan's own arithmetic throws on overflow.
            var ticks = Math.Round(value * unit.Ticks);
            if (double.IsNaN(ticks) || ticks >= TimeSpan.MaxValue.Ticks) return false;
            duration = TimeSpan.FromTicks((long)ticks);
            return true;
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration) && duration >= TimeSpan.Zero;
    }

    /// <summary>
    /// An instant: ISO 8601 date or date-time (UTC unless an offset is given), or a relative age
    /// ("30d", "12h") meaning that long before <paramref name="now"/>.
    /// </summary>
    public static bool TryParseInstant(string text, DateTimeOffset now, out DateTimeOffset instant)
    {
        instant = default;
        if (Relative().IsMatch(text))
        {
            if (!TryParseDuration(text, out var age) || age > now - DateTimeOffset.MinValue) return false;
            instant = now - age;
            return true;
        }
        string[] formats =
        [
            "yyyy-MM-dd", "yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-ddTHH:mmK",
            "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK",
        ];
        return DateTimeOffset.TryParseExact(text.Trim(), formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out instant);
    }
}
