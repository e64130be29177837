using System.Text.Json;
using Scraper.Domain;

namespace Scraper.Exchange;

/// <summary>
/// Reads a page of candles in one pass of <see cref="Utf8JsonReader"/> over the body, without the
/// <see cref="JsonDocument"/> index and without a string per name and instant. Anything it does not
/// expect (a missing or null field, a number sent as text, a candle that fails a check) sends the
/// whole body to <see cref="UpbitJson.ReadArray{T}"/> and <see cref="UpbitJson.ReadCandle"/>, which
/// accept or describe it: both paths return the same candles for the same body.
/// </summary>
internal static class UpbitJsonCandles
{
    /// <summary>Parses a candle page of <paramref name="query"/>; null on success, else the first problem.</summary>
    public static string? Read(ReadOnlyMemory<byte> body, CandleQuery query, out List<Candle> items)
    {
        items = new List<Candle>(Math.Min(query.Count, UpbitClient.MaxCandleCount));
        try
        {
            if (TryRead(body.Span, query, items)) return null;
        }
        catch (JsonException)
        {
            // Malformed JSON: the document reader says where.
        }
        return UpbitJson.ReadArray(body, e => UpbitJson.ReadCandle(e, query), out items);
    }

    private static bool TryRead(ReadOnlySpan<byte> body, CandleQuery query, List<Candle> items)
    {
        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return false;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndArray) return !reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject || TryReadCandle(ref reader, query) is not { } candle) return false;
            items.Add(candle);
        }
        return false;
    }

    /// <summary>One candle object, the reader on its start; null when anything is unexpected.</summary>
    private static Candle? TryReadCandle(ref Utf8JsonReader reader, CandleQuery query)
    {
        var fields = new Fields();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            if (reader.ValueIsEscaped || !reader.Read()) return null;
            if (!fields.Take(name, ref reader, query)) return null;
        }
        if (reader.TokenType != JsonTokenType.EndObject || !fields.Complete(query.Unit.IsDay)) return null;
        var start = fields.Start;
        if (query.Unit.AlignDown(start) != start) return null;
        return new Candle(query.Market, query.Unit, start, fields.StartKst!, fields.Open, fields.High, fields.Low, fields.Close,
            fields.Timestamp, fields.AccPrice, fields.AccVolume,
            query.Unit.IsDay ? fields.PrevClose : null, query.Unit.IsDay ? fields.ChangePrice : null, query.Unit.IsDay ? fields.ChangeRate : null);
    }

    /// <summary>The fields of one candle as they are read; a later duplicate replaces an earlier one, as in the document.</summary>
    private struct Fields
    {
        private const int Required = (1 << 10) - 1;
        private const int DayOnly = 7 << 10;
        private int _seen;

        public DateTimeOffset Start;
        public string? StartKst;
        public decimal Open, High, Low, Close, AccPrice, AccVolume, PrevClose, ChangePrice, ChangeRate;
        public long Timestamp;

        public readonly bool Complete(bool day) => (_seen & Required) == Required && (!day || (_seen & DayOnly) == DayOnly);

        /// <summary>Reads the value of <paramref name="name"/>; false when it is not what the fast path takes.</summary>
        public bool Take(ReadOnlySpan<byte> name, ref Utf8JsonReader reader, CandleQuery query)
        {
            var number = reader.TokenType == JsonTokenType.Number;
            if (name.SequenceEqual("market"u8))
                return Seen(0, reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && Utf8Equals(reader.ValueSpan, query.Market));
            if (name.SequenceEqual("candle_date_time_utc"u8))
                return Seen(1, reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && TryParseInstant(reader.ValueSpan, out Start));
            if (name.SequenceEqual("candle_date_time_kst"u8))
            {
                StartKst = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                return Seen(2, StartKst is not null);
            }
            if (name.SequenceEqual("opening_price"u8)) return Seen(3, number && UpbitJsonNumbers.TryGetDecimal(ref reader, out Open));
            if (name.SequenceEqual("high_price"u8)) return Seen(4, number && UpbitJsonNumbers.TryGetDecimal(ref reader, out High));
            if (name.SequenceEqual("low_price"u8)) return Seen(5, number && UpbitJsonNumbers.TryGetDecimal(ref reader, out Low));
            if (name.SequenceEqual("trade_price"u8)) return Seen(6, number && UpbitJsonNumbers.TryGetDecimal(ref reader, out Close));
            if (name.SequenceEqual("timestamp"u8)) return Seen(7, number && reader.TryGetInt64(out Timestamp));
            if (name.SequenceEqual("candle_acc_trade_price"u8)) return Seen(8, number && UpbitJsonNumbers.TryGetDecimal(ref reader, out AccPrice));
            if (name.SequenceEqual("candle_acc_trade_volume"u8)) return Seen(9, number && UpbitJsonNumbers.TryGetDecimal(ref reader, out AccVolume));
            if (query.Unit.IsDay)
            {
                if (name.SequenceEqual("prev_closing_price"u8)) return Seen(10, number && UpbitJsonNumbers.TryGetDecimal(ref reader, out PrevClose));
                if (name.SequenceEqual("change_price"u8)) return Seen(11, number && UpbitJsonNumbers.TryGetDecimal(ref reader, out ChangePrice));
                if (name.SequenceEqual("change_rate"u8)) return Seen(12, number && UpbitJsonNumbers.TryGetDecimal(ref reader, out ChangeRate));
            }
            // A unit, when sent with a minute candle, must be the one asked for.
            else if (name.SequenceEqual("unit"u8))
                return number && reader.TryGetInt32(out var minutes) && minutes == query.Unit.Minutes;
            return reader.TrySkip();
        }

        private bool Seen(int bit, bool ok)
        {
            _seen |= 1 << bit;
            return ok;
        }
    }

    private static bool Utf8Equals(ReadOnlySpan<byte> utf8, string text)
    {
        if (utf8.Length != text.Length) return false;
        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] != text[i]) return false;
        }
        return true;
    }

    /// <summary>
    /// yyyy-MM-ddTHH:mm:ss with an optional Z, as UTC: what the document path accepts, for the forms
    /// the exchange sends. Anything else (other digits, another length) is left to that path.
    /// </summary>
    private static bool TryParseInstant(ReadOnlySpan<byte> text, out DateTimeOffset instant)
    {
        instant = default;
        if (text.Length == 20 && text[19] == (byte)'Z') text = text[..19];
        if (text.Length != 19 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':') return false;
        if (!Digits(text, 0, 4, out var year) || !Digits(text, 5, 2, out var month) || !Digits(text, 8, 2, out var day)
            || !Digits(text, 11, 2, out var hour) || !Digits(text, 14, 2, out var minute) || !Digits(text, 17, 2, out var second))
            return false;
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
            return false;
        instant = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.Zero);
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> text, int at, int count, out int value)
    {
        value = 0;
        for (var i = at; i < at + count; i++)
        {
            var digit = text[i] - '0';
            if ((uint)digit > 9) return false;
            value = value * 10 + digit;
        }
        return true;
    }
}
