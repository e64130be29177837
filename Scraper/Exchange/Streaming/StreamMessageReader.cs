using System.Globalization;
using System.Text.Json;
using Scraper.Domain;

namespace Scraper.Exchange.Streaming;

/// <summary>
/// Reads one stream message (the UTF-8 JSON of a text or binary frame) into a
/// <see cref="StreamEvent"/>; anything unreadable becomes a <see cref="StreamMalformed"/>, never an exception.
/// </summary>
internal static class StreamMessageReader
{
    /// <summary>Reads <paramref name="utf8"/> received at <paramref name="at"/>.</summary>
    public static StreamEvent Read(ReadOnlySpan<byte> utf8, DateTimeOffset at)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            using var doc = JsonDocument.ParseValue(ref reader);
            return Read(doc.RootElement, at);
        }
        catch (JsonException e)
        {
            return new StreamMalformed(at, "not JSON: " + e.Message.Split('.')[0]);
        }
    }

    private static StreamEvent Read(JsonElement root, DateTimeOffset at)
    {
        if (root.ValueKind != JsonValueKind.Object) return new StreamMalformed(at, "not a JSON object");
        if (root.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.String)
            return new StreamStatus(at, status.GetString()!);
        if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            return new StreamError(at, Text(error, "name"), Text(error, "message"), "", []);
        var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        if (type == "ticker") return ReadTicker(root, at);
        if (UnitOf(type) is { } unit) return ReadCandle(root, unit, at);
        return new StreamMalformed(at, $"unknown type '{(type.Length <= 20 ? type : type[..20])}'");
    }

    /// <summary>The unit of a candle type such as candle.15m; null for anything else (candle.1s included).</summary>
    public static CandleUnit? UnitOf(string type) =>
        type.StartsWith("candle.", StringComparison.Ordinal) && type.EndsWith('m') && CandleUnit.TryParse(type[7..^1], out var unit) && !unit.IsDay
            ? unit
            : null;

    /// <summary>The stream type of a unit: 15 → candle.15m.</summary>
    public static string TypeOf(CandleUnit unit) => "candle." + unit.Minutes.ToString(CultureInfo.InvariantCulture) + "m";

    private static StreamEvent ReadCandle(JsonElement e, CandleUnit unit, DateTimeOffset at)
    {
        var r = new UpbitJson.FieldReader(e);
        var code = r.String("code"u8);
        var startText = r.String("candle_date_time_utc"u8);
        var startKst = r.String("candle_date_time_kst"u8);
        var (open, high, low, close, timestamp, accPrice, accVolume) = UpbitJson.ReadCandleValues(ref r);
        if (r.Error is not null) return new StreamMalformed(at, r.Error);
        if (!DateTime.TryParseExact(startText, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var startDateTime))
            return new StreamMalformed(at, "candle_date_time_utc is not yyyy-MM-ddTHH:mm:ss");
        var start = new DateTimeOffset(startDateTime, TimeSpan.Zero);
        if (unit.AlignDown(start) != start) return new StreamMalformed(at, "candle_date_time_utc is not aligned to its unit");
        var snapshot = e.TryGetProperty("stream_type", out var st) && st.ValueKind == JsonValueKind.String && st.GetString() == "SNAPSHOT";
        return new StreamCandle(at, new Candle(code!, unit, start, startKst!, open, high, low, close, timestamp, accPrice, accVolume), snapshot);
    }

    private static StreamEvent ReadTicker(JsonElement e, DateTimeOffset at)
    {
        var r = new UpbitJson.FieldReader(e);
        var code = r.String("code"u8);
        var price = r.Decimal("trade_price"u8);
        var timestamp = r.Int64("timestamp"u8);
        return r.Error is null ? new StreamTicker(at, code!, price, timestamp) : new StreamMalformed(at, r.Error);
    }

    private static string Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
}
