using System.Text.Json;
using Scraper.Domain;

namespace Scraper.Tests.FakeExchange;

/// <summary>One subscription request as the fake exchange reads it: the candle units and ticker codes, or the error it answers.</summary>
internal sealed record FakeStreamSubscription(string Ticket, IReadOnlyList<(CandleUnit Unit, IReadOnlyList<string> Codes)> Candles, IReadOnlyList<string> TickerCodes)
{
    /// <summary>Every (unit, code) pair subscribed.</summary>
    public IEnumerable<(CandleUnit Unit, string Code)> CandlePairs => Candles.SelectMany(c => c.Codes.Select(code => (c.Unit, code)));

    /// <summary>
    /// Reads the subscription text. Returns the error (name, message) of the first problem; with
    /// <paramref name="keepValid"/> an unknown code is reported but the rest is still subscribed.
    /// </summary>
    public static (FakeStreamSubscription? Subscription, (string Name, string Message)? Error) Parse(string text, ICollection<string> markets, bool keepValid)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return (null, ("WRONG_FORMAT", "request is not JSON"));
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array) return (null, ("WRONG_FORMAT", "request is not a JSON array"));
            string? ticket = null;
            var candles = new List<(CandleUnit, IReadOnlyList<string>)>();
            var tickers = new List<string>();
            var types = 0;
            (string, string)? error = null;
            foreach (var item in doc.RootElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object) return (null, ("WRONG_FORMAT", "every element must be an object"));
                if (item.TryGetProperty("ticket", out var t) && t.ValueKind == JsonValueKind.String) ticket = t.GetString();
                if (!item.TryGetProperty("type", out var typeElement)) continue;
                types++;
                var type = typeElement.GetString() ?? "";
                if (!item.TryGetProperty("codes", out var codesElement) || codesElement.ValueKind != JsonValueKind.Array || codesElement.GetArrayLength() == 0)
                    return (null, ("NO_CODES", $"no codes for type {type}"));
                var codes = new List<string>();
                foreach (var c in codesElement.EnumerateArray())
                {
                    var code = c.GetString() ?? "";
                    if (markets.Contains(code)) codes.Add(code);
                    else error ??= ("INVALID_PARAM", $"invalid code: {code}");
                }
                if (type == "ticker") tickers.AddRange(codes);
                else if (type.StartsWith("candle.", StringComparison.Ordinal) && type.EndsWith('m') && CandleUnit.TryParse(type[7..^1], out var unit) && !unit.IsDay) candles.Add((unit, codes));
                else return (null, ("INVALID_PARAM", $"invalid type: {type}"));
            }
            if (ticket is null) return (null, ("NO_TICKET", "no ticket"));
            if (types == 0) return (null, ("NO_TYPE", "no type"));
            var subscription = new FakeStreamSubscription(ticket, candles, tickers);
            return error is null || keepValid ? (subscription, error) : (null, error);
        }
    }
}
