using System.Globalization;
using System.Runtime.CompilerServices;

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
        var negative = bits[3] < 0;
        var count = 1;
        while (count < PowersOfTen.Length && mantissa >= PowersOfTen[count]) count++;
        // 0.000ddd when there are no whole digits: as many zeros after the point as the scale has places beyond the digits.
        var whole = Math.Max(count - scale, 1);
        length = (negative ? 1 : 0) + whole + (scale > 0 ? 1 + scale : 0);
        // Written from the last digit back: the fraction (its leading zeros come once the digits run out),
        // the point, the whole part (a lone 0 when the digits ran out).
        var at = length;
        var rest = mantissa;
        for (var i = 0; i < scale; i++) buffer[--at] = NextDigit(ref rest);
        if (scale > 0) buffer[--at] = (byte)'.';
        do buffer[--at] = NextDigit(ref rest);
        while (rest != 0);
        if (negative) buffer[--at] = (byte)'-';
        return true;
    }

    /// <summary>The last digit of <paramref name="rest"/>, removed from it (a division by the constant 10: a multiplication).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte NextDigit(ref ulong rest)
    {
        var quotient = rest / 10;
        var digit = (byte)('0' + (int)(rest - quotient * 10));
        rest = quotient;
        return digit;
    }

    /// <summary>10^0 to 10^19: a 64-bit mantissa has as many digits as the first power above it.</summary>
    private static ReadOnlySpan<ulong> PowersOfTen =>
    [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000, 100_000_000_000,
        1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000, 10_000_000_000_000_000,
        100_000_000_000_000_000, 1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
    ];

    private static void Digits(Span<byte> target, int value)
    {
        for (var i = target.Length - 1; i >= 0; i--, value /= 10) target[i] = (byte)('0' + value % 10);
    }
}
