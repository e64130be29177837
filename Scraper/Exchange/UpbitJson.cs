using System.Globalization;
using System.Text;
using System.Text.Json;
using Scraper.Domain;

namespace Scraper.Exchange;

/// <summary>
/// Reads Upbit's JSON bodies with <see cref="JsonDocument"/> (no reflection: NativeAOT-safe).
/// Numbers become <see cref="decimal"/> straight from their text, never through <see cref="double"/>.
/// Every reader returns null on success and a short description of the first problem otherwise.
/// </summary>
internal static class UpbitJson
{
    private static readonly string[] CandleTimeFormats = ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss'Z'"];

    /// <summary>Parses a JSON array body; the error mentions an exchange error object when that is what came.</summary>
    public static string? ReadArray<T>(ReadOnlyMemory<byte> body, Func<JsonElement, (T? Item, string? Error)> readItem, out List<T> items)
        where T : class
    {
        items = [];
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            return body.Length == 0 ? "empty body" : $"invalid JSON: {e.Message}";
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array)
            {
                var error = TryReadError(root);
                return error is null
                    ? $"expected a JSON array, got {root.ValueKind}"
                    : $"expected a JSON array, got an error object: {error}";
            }
            var index = 0;
            foreach (var element in root.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.Object) return $"item {index}: expected an object, got {element.ValueKind}";
                var (item, itemError) = readItem(element);
                if (itemError is not null) return $"item {index}: {itemError}";
                items.Add(item!);
                index++;
            }
            return null;
        }
    }

    /// <summary>One candle of <paramref name="query"/>, validated against what was asked.</summary>
    public static (Candle? Item, string? Error) ReadCandle(JsonElement e, CandleQuery query)
    {
        var r = new FieldReader(e);
        var market = r.String("market"u8);
        var startText = r.String("candle_date_time_utc"u8);
        var startKst = r.String("candle_date_time_kst"u8);
        var (open, high, low, close, timestamp, accPrice, accVolume) = ReadCandleValues(ref r);
        decimal? prevClose = null, changePrice = null, changeRate = null;
        if (query.Unit.IsDay)
        {
            prevClose = r.Decimal("prev_closing_price"u8);
            changePrice = r.Decimal("change_price"u8);
            changeRate = r.Decimal("change_rate"u8);
        }
        else if (e.TryGetProperty("unit"u8, out var unitElement)
                 && !(unitElement.ValueKind == JsonValueKind.Number && unitElement.TryGetInt32(out var unitMinutes) && unitMinutes == query.Unit.Minutes))
        {
            return (null, $"unit {unitElement.GetRawText()} is not {query.Unit.Name}");
        }
        if (r.Error is not null) return (null, r.Error);

        if (!string.Equals(market, query.Market, StringComparison.Ordinal))
            return (null, $"market '{market}' is not the requested '{query.Market}'");
        if (!DateTime.TryParseExact(startText, CandleTimeFormats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var startDateTime))
            return (null, $"candle_date_time_utc '{startText}' is not yyyy-MM-ddTHH:mm:ss");
        var start = new DateTimeOffset(startDateTime, TimeSpan.Zero);
        if (query.Unit.AlignDown(start) != start)
            return (null, $"candle_date_time_utc '{startText}' is not aligned to unit {query.Unit.Name}");

        return (new Candle(market!, query.Unit, start, startKst!, open, high, low, close, timestamp, accPrice, accVolume,
            prevClose, changePrice, changeRate), null);
    }

    /// <summary>The prices, volumes and time every candle has, in REST pages and stream messages alike.</summary>
    internal static (decimal Open, decimal High, decimal Low, decimal Close, long Timestamp, decimal AccPrice, decimal AccVolume) ReadCandleValues(ref FieldReader r) =>
        (r.Decimal("opening_price"u8), r.Decimal("high_price"u8), r.Decimal("low_price"u8), r.Decimal("trade_price"u8),
            r.Int64("timestamp"u8), r.Decimal("candle_acc_trade_price"u8), r.Decimal("candle_acc_trade_volume"u8));

    /// <summary>One ticker; its market must be one of those asked for.</summary>
    public static (Ticker? Item, string? Error) ReadTicker(JsonElement e, IReadOnlyList<string> markets)
    {
        var r = new FieldReader(e);
        var ticker = new Ticker(
            r.String("market"u8) ?? "",
            r.Decimal("trade_price"u8),
            r.Decimal("opening_price"u8),
            r.Decimal("high_price"u8),
            r.Decimal("low_price"u8),
            r.Decimal("prev_closing_price"u8),
            r.Decimal("change_rate"u8),
            r.Decimal("acc_trade_volume_24h"u8),
            r.Decimal("acc_trade_price_24h"u8),
            r.Int64("timestamp"u8));
        if (r.Error is not null) return (null, r.Error);
        if (!markets.Contains(ticker.Market, StringComparer.Ordinal))
            return (null, $"market '{ticker.Market}' was not requested");
        return (ticker, null);
    }

    /// <summary>One entry of GET /v1/market/all: its market code.</summary>
    public static (string? Item, string? Error) ReadMarketCode(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty("market", out var m) && m.ValueKind == JsonValueKind.String && m.GetString() is { Length: > 0 } code
            ? (code, null)
            : (null, "a market entry without a \"market\" code");

    /// <summary>One account balance (the exchange sends these numbers as strings).</summary>
    public static (Account? Item, string? Error) ReadAccount(JsonElement e)
    {
        var r = new FieldReader(e);
        var account = new Account(
            r.String("currency"u8) ?? "",
            r.Decimal("balance"u8),
            r.Decimal("locked"u8),
            r.Decimal("avg_buy_price"u8),
            r.String("unit_currency"u8) ?? "");
        return r.Error is null ? (account, null) : (null, r.Error);
    }

    /// <summary>"name: message" from <c>{"error":{"name":..,"message":..}}</c>, or null.</summary>
    public static string? TryReadError(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return TryReadError(document.RootElement);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? TryReadError(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("error", out var error)) return null;
        if (error.ValueKind == JsonValueKind.String) return error.GetString();
        if (error.ValueKind != JsonValueKind.Object) return error.GetRawText();
        var name = error.TryGetProperty("name", out var n) ? (n.ValueKind == JsonValueKind.String ? n.GetString() : n.GetRawText()) : null;
        var message = error.TryGetProperty("message", out var m) ? (m.ValueKind == JsonValueKind.String ? m.GetString() : m.GetRawText()) : null;
        return (name, message) switch
        {
            (null, null) => error.GetRawText(),
            (_, null) => name,
            (null, _) => message,
            _ => $"{name}: {message}",
        };
    }

    /// <summary>
    /// Reads required fields, remembering the first one that is missing or of the wrong kind. Names are
    /// UTF-8 (<c>"market"u8</c>): looked up without transcoding them on every call.
    /// </summary>
    internal struct FieldReader(JsonElement element)
    {
        public string? Error { get; private set; }

        public string? String(ReadOnlySpan<byte> name) => Report(name, ReadString(element.TryGetProperty(name, out var v), v, out var problem), problem);

        public decimal Decimal(ReadOnlySpan<byte> name) => Report(name, ReadDecimal(element.TryGetProperty(name, out var v), v, out var problem), problem);

        public long Int64(ReadOnlySpan<byte> name) => Report(name, ReadInt64(element.TryGetProperty(name, out var v), v, out var problem), problem);

        private T Report<T>(ReadOnlySpan<byte> name, T value, string? problem)
        {
            if (problem is not null) Error ??= $"{Encoding.UTF8.GetString(name)} {problem}";
            return value;
        }

        private static string? ReadString(bool found, JsonElement value, out string? problem)
        {
            problem = Missing(found, value);
            if (problem is not null) return null;
            if (value.ValueKind == JsonValueKind.String) return value.GetString();
            problem = "is not a string";
            return null;
        }

        private static decimal ReadDecimal(bool found, JsonElement value, out string? problem)
        {
            problem = Missing(found, value);
            if (problem is not null) return 0m;
            switch (value.ValueKind)
            {
                case JsonValueKind.Number when value.TryGetDecimal(out var number):
                    return number;
                case JsonValueKind.String when decimal.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed):
                    return parsed;
                default:
                    problem = $"is not a decimal number: {Truncate(value.GetRawText())}";
                    return 0m;
            }
        }

        private static long ReadInt64(bool found, JsonElement value, out string? problem)
        {
            problem = Missing(found, value);
            if (problem is not null) return 0;
            if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)) return number;
            problem = $"is not an integer: {Truncate(value.GetRawText())}";
            return 0;
        }

        private static string? Missing(bool found, JsonElement value) => found && value.ValueKind != JsonValueKind.Null ? null : "is missing";

        private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
    }
}
