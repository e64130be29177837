using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Scraper.Domain;
using Scraper.Exchange;

namespace Scraper.Tests.FakeExchange;

/// <summary>Answers as JSON in the exchange's field names, and its error object.</summary>
public sealed partial class FakeUpbitExchange
{
    private static string JsonArray<T>(IEnumerable<T> items, Action<Utf8JsonWriter, T> write)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartArray();
            foreach (var item in items)
            {
                w.WriteStartObject();
                write(w, item);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The fields a REST candle and a stream candle message share.</summary>
    internal static void WriteCandleValues(Utf8JsonWriter w, Candle c)
    {
        w.WriteString("candle_date_time_utc", c.StartUtc.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture));
        w.WriteString("candle_date_time_kst", c.StartKst);
        w.WriteNumber("opening_price", c.OpeningPrice);
        w.WriteNumber("high_price", c.HighPrice);
        w.WriteNumber("low_price", c.LowPrice);
        w.WriteNumber("trade_price", c.TradePrice);
        w.WriteNumber("timestamp", c.Timestamp);
        w.WriteNumber("candle_acc_trade_price", c.AccTradePrice);
        w.WriteNumber("candle_acc_trade_volume", c.AccTradeVolume);
    }

    private static void WriteCandle(Utf8JsonWriter w, Candle c)
    {
        w.WriteString("market", c.Market);
        WriteCandleValues(w, c);
        if (c.Unit.IsDay)
        {
            w.WriteNumber("prev_closing_price", c.PrevClosingPrice!.Value);
            w.WriteNumber("change_price", c.ChangePrice!.Value);
            w.WriteNumber("change_rate", c.ChangeRate!.Value);
        }
        else
        {
            w.WriteNumber("unit", c.Unit.Minutes);
        }
    }

    private static void WriteTicker(Utf8JsonWriter w, Ticker t)
    {
        w.WriteString("market", t.Market);
        w.WriteNumber("trade_price", t.TradePrice);
        w.WriteNumber("opening_price", t.OpeningPrice);
        w.WriteNumber("high_price", t.HighPrice);
        w.WriteNumber("low_price", t.LowPrice);
        w.WriteNumber("prev_closing_price", t.PrevClosingPrice);
        w.WriteString("change", "RISE");
        w.WriteNumber("change_rate", t.ChangeRate);
        w.WriteNumber("acc_trade_volume_24h", t.AccTradeVolume24h);
        w.WriteNumber("acc_trade_price_24h", t.AccTradePrice24h);
        w.WriteNumber("timestamp", t.Timestamp);
    }

    private static void WriteAccount(Utf8JsonWriter w, Account a)
    {
        w.WriteString("currency", a.Currency);
        w.WriteString("balance", a.Balance.ToString(CultureInfo.InvariantCulture));
        w.WriteString("locked", a.Locked.ToString(CultureInfo.InvariantCulture));
        w.WriteString("avg_buy_price", a.AvgBuyPrice.ToString(CultureInfo.InvariantCulture));
        w.WriteBoolean("avg_buy_price_modified", false);
        w.WriteString("unit_currency", a.UnitCurrency);
    }

    private static async Task Json(HttpContext ctx, RecordedRequest record, int status, string body)
    {
        record.Status = status;
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        try { await ctx.Response.WriteAsync(body, ctx.RequestAborted); } catch (OperationCanceledException) { }
    }

    private static Task Error(HttpContext ctx, RecordedRequest record, int status, string name, string message) =>
        Json(ctx, record, status, JsonSerializer.Serialize(new Dictionary<string, Dictionary<string, string>> { ["error"] = new() { ["name"] = name, ["message"] = message } }));
}
