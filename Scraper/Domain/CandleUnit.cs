using System.Globalization;

namespace Scraper.Domain;

/// <summary>
/// A candle interval as the exchange names it: minute candles of 1, 3, 5, 10, 15, 30, 60 or 240
/// minutes, or day candles (which start at 00:00 UTC).
/// </summary>
internal readonly record struct CandleUnit
{
    /// <summary>The minute units the exchange serves.</summary>
    public static readonly IReadOnlyList<int> MinuteUnits = [1, 3, 5, 10, 15, 30, 60, 240];

    /// <summary>Day candles.</summary>
    public static readonly CandleUnit Day = new(0);

    private CandleUnit(int minutes) => Minutes = minutes;

    /// <summary>Minutes per candle; 0 for day candles.</summary>
    public int Minutes { get; }

    /// <summary>True for day candles.</summary>
    public bool IsDay => Minutes == 0;

    /// <summary>How long one candle lasts.</summary>
    public TimeSpan Interval => IsDay ? TimeSpan.FromDays(1) : TimeSpan.FromMinutes(Minutes);

    /// <summary>The name used on the command line, in the database and in metric labels: "1".."240" or "day".</summary>
    public string Name => IsDay ? "day" : Minutes.ToString(CultureInfo.InvariantCulture);

    /// <summary>The path of the candle endpoint below /v1/candles/.</summary>
    public string PathSegment => IsDay ? "days" : "minutes/" + Name;

    /// <summary>A minute unit; throws for a value the exchange does not serve.</summary>
    public static CandleUnit FromMinutes(int minutes) =>
        MinuteUnits.Contains(minutes)
            ? new CandleUnit(minutes)
            : throw new ArgumentOutOfRangeException(nameof(minutes), minutes, "expected one of 1,3,5,10,15,30,60,240");

    /// <summary>Parses "1".."240" or "day" (case-insensitive).</summary>
    public static bool TryParse(string? text, out CandleUnit unit)
    {
        unit = default;
        if (text is null) return false;
        var trimmed = text.Trim();
        if (trimmed.Equals("day", StringComparison.OrdinalIgnoreCase) || trimmed.Equals("days", StringComparison.OrdinalIgnoreCase))
        {
            unit = Day;
            return true;
        }
        if (int.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var minutes) && MinuteUnits.Contains(minutes))
        {
            unit = new CandleUnit(minutes);
            return true;
        }
        return false;
    }

    /// <summary>The start of the candle that contains <paramref name="instant"/>.</summary>
    public DateTimeOffset AlignDown(DateTimeOffset instant)
    {
        var utcTicks = instant.UtcTicks;
        var step = Interval.Ticks;
        return new DateTimeOffset(utcTicks - (utcTicks % step), TimeSpan.Zero);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
