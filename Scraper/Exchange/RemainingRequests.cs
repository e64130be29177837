using System.Globalization;

namespace Scraper.Exchange;

/// <summary>
/// The exchange's <c>Remaining-Req: group=candles; min=1800; sec=9</c> header: how many requests
/// the group has left in the current second. <c>min</c> is deprecated and ignored.
/// </summary>
internal sealed record RemainingRequests(string Group, int Second)
{
    /// <summary>Parses the header value; null when it is absent or malformed.</summary>
    public static RemainingRequests? Parse(string? header)
    {
        if (string.IsNullOrWhiteSpace(header)) return null;
        string? group = null;
        int? second = null;
        foreach (var part in header.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) continue;
            var key = part[..eq].Trim();
            var value = part[(eq + 1)..].Trim();
            if (key.Equals("group", StringComparison.OrdinalIgnoreCase)) group = value;
            else if (key.Equals("sec", StringComparison.OrdinalIgnoreCase)
                     && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var s)) second = s;
        }
        return group is null || second is null ? null : new RemainingRequests(group, second.Value);
    }
}
