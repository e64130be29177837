using System.Text.Json;

namespace Scraper.Exchange;

/// <summary>
/// A JSON number as a <see cref="decimal"/>, read directly when it is plain text (an optional minus,
/// digits, an optional fraction; at most 19 digits, not zero), the form the exchange sends every price
/// in. <see cref="Utf8JsonReader.TryGetDecimal"/> goes through a general number buffer for each one;
/// it still reads everything else (exponents, zero, longer numbers), so the value, scale and sign are
/// always what it would give.
/// </summary>
internal static class UpbitJsonNumbers
{
    private const int MaxPlainDigits = 19;

    /// <summary>The current token, a number, as a decimal; false when it does not fit one.</summary>
    public static bool TryGetDecimal(ref Utf8JsonReader reader, out decimal value)
    {
        if (!reader.HasValueSequence && TryParsePlain(reader.ValueSpan, out value)) return true;
        return reader.TryGetDecimal(out value);
    }

    /// <summary>Text the reader has validated as a JSON number; false for any form left to the general parser.</summary>
    private static bool TryParsePlain(ReadOnlySpan<byte> text, out decimal value)
    {
        value = default;
        var negative = text.Length > 0 && text[0] == '-';
        var at = negative ? 1 : 0;
        ulong mantissa = 0;
        var digits = 0;
        var scale = -1;
        for (; at < text.Length; at++)
        {
            var c = text[at];
            if (c == '.' && scale < 0)
            {
                scale = 0;
                continue;
            }
            var digit = (uint)(c - '0');
            if (digit > 9 || ++digits > MaxPlainDigits) return false;
            mantissa = mantissa * 10 + digit;
            if (scale >= 0) scale++;
        }
        if (mantissa == 0) return false;
        value = new decimal((int)mantissa, (int)(mantissa >> 32), 0, negative, (byte)Math.Max(scale, 0));
        return true;
    }
}
