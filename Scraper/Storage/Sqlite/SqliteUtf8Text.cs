using System.Globalization;

namespace Scraper.Storage.Sqlite;

/// <summary>
/// <see cref="StoredText"/>'s forms of an instant and a decimal written straight as UTF-8 for the
/// common cases (a whole second; a decimal whose digits fit 64 bits), byte for byte what the general
/// formatters write, which take the rest. A page binds ten such values per candle.
/// </summary>
internal static class SqliteUtf8Text
{
    /// <summary>Writes <paramref name="instant"/> as <see cref="StoredText.Instant"/> does; false when it does not fit.</summary>
    public static bool TryWriteInstant(DateTimeOffset instant, Span<byte> buffer, out int length)
    {
        var utc = instant.UtcDateTime;
        if (utc.Ticks % TimeSpan.TicksPerSecond != 0 || buffer.Length < 19)
            return utc.TryFormat(buffer, out length, StoredText.InstantFormat, CultureInfo.InvariantCulture);
        Digits(buffer[..4], utc.Year);
        buffer[4] = (byte)'-';
        Digits(buffer[5..7], utc.Month);
        buffer[7] = (byte)'-';
        Digits(buffer[8..10], utc.Day);
        buffer[10] = (byte)'T';
        Digits(buffer[11..13], utc.Hour);
        buffer[13] = (byte)':';
        Digits(buffer[14..16], utc.Minute);
        buffer[16] = (byte)':';
        Digits(buffer[17..19], utc.Second);
        length = 19;
        return true;
    }

    /// <summary>Writes <paramref name="value"/> as <see cref="StoredText.Decimal"/> does (every digit, trailing zeros kept); false when it does not fit.</summary>
    public static bool TryWriteDecimal(decimal value, Span<byte> buffer, out int length)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        var mantissa = (ulong)(uint)bits[1] << 32 | (uint)bits[0];
        // Zero (of any sign or scale) and mantissas past 64 bits are rare: the general formatter writes them.
        if (bits[2] != 0 || mantissa == 0 || buffer.Length < 48)
            return value.TryFormat(buffer, out length, default, CultureInfo.InvariantCulture);
        var scale = (bits[3] >> 16) & 0xFF;
        Span<byte> digits = stackalloc byte[20];
        var count = 0;
        for (var rest = mantissa; rest != 0; rest /= 10) digits[digits.Length - ++count] = (byte)('0' + (int)(rest % 10));
        var written = 0;
        if (bits[3] < 0) buffer[written++] = (byte)'-';
        var whole = count - scale;
        if (whole <= 0)
        {
            // 0.000ddd: as many zeros after the point as the scale has places beyond the digits.
            buffer[written++] = (byte)'0';
            buffer[written++] = (byte)'.';
            for (var i = 0; i < -whole; i++) buffer[written++] = (byte)'0';
            digits[^count..].CopyTo(buffer[written..]);
            written += count;
        }
        else
        {
            digits.Slice(digits.Length - count, whole).CopyTo(buffer[written..]);
            written += whole;
            if (scale > 0)
            {
                buffer[written++] = (byte)'.';
                digits[^scale..].CopyTo(buffer[written..]);
                written += scale;
            }
        }
        length = written;
        return true;
    }

    private static void Digits(Span<byte> target, int value)
    {
        for (var i = target.Length - 1; i >= 0; i--, value /= 10) target[i] = (byte)('0' + value % 10);
    }
}
