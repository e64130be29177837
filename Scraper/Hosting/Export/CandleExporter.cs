using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Scraper.Domain;
using Scraper.Storage;

namespace Scraper.Hosting.Export;

/// <summary>
/// Writes candles as CSV or JSON Lines. Candles are written one at a time as they are read, so
/// memory does not grow with the length of the series. Prices are written with their exact decimal
/// digits (in JSON as numbers, not strings).
/// </summary>
internal static class CandleExporter
{
    // The CSV columns: the candle columns of the database, in table order, each with its text. Absent
    // day-only values are empty fields.
    private static readonly (string Name, Func<Candle, string?> Text)[] Csv =
    [
        ("market", c => c.Market),
        ("unit", c => c.Unit.Name),
        ("candle_date_time_utc", c => StoredText.Instant(c.StartUtc)),
        ("candle_date_time_kst", c => c.StartKst),
        ("opening_price", c => StoredText.Decimal(c.OpeningPrice)),
        ("high_price", c => StoredText.Decimal(c.HighPrice)),
        ("low_price", c => StoredText.Decimal(c.LowPrice)),
        ("trade_price", c => StoredText.Decimal(c.TradePrice)),
        ("timestamp", c => c.Timestamp.ToString(CultureInfo.InvariantCulture)),
        ("candle_acc_trade_price", c => StoredText.Decimal(c.AccTradePrice)),
        ("candle_acc_trade_volume", c => StoredText.Decimal(c.AccTradeVolume)),
        ("prev_closing_price", c => OrEmpty(c.PrevClosingPrice)),
        ("change_price", c => OrEmpty(c.ChangePrice)),
        ("change_rate", c => OrEmpty(c.ChangeRate)),
    ];

    /// <summary>The CSV header: the candle columns of the database, in table order.</summary>
    public static IReadOnlyList<string> CsvColumns { get; } = Csv.Select(column => column.Name).ToArray();

    // Relaxed escaping: the output is a data file, not HTML, so '+' in "+09:00" stays readable.
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Streams the candles of <paramref name="series"/> with start in [from, to) to <paramref name="writer"/>; returns how many were written.</summary>
    public static long Export(ICandleStore store, SeriesKey series, ExportFormat format, TextWriter writer,
        DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var candles = store.ReadCandles(series, from, to);
        return format switch
        {
            ExportFormat.Csv => WriteCsv(candles, writer, cancellationToken),
            ExportFormat.Jsonl => WriteJsonLines(candles, writer, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "expected csv or jsonl"),
        };
    }

    /// <summary>Writes RFC 4180 CSV (CRLF line ends, a header row); empty fields for absent day-only values.</summary>
    public static long WriteCsv(IEnumerable<Candle> candles, TextWriter writer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candles);
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(string.Join(',', CsvColumns));
        writer.Write("\r\n");
        long count = 0;
        foreach (var candle in candles)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var i = 0; i < Csv.Length; i++)
            {
                if (i > 0) writer.Write(',');
                WriteCsvField(writer, Csv[i].Text(candle));
            }
            writer.Write("\r\n");
            count++;
        }
        return count;
    }

    /// <summary>
    /// Writes one JSON object per line ("\n"), with the exchange's field names and order: minute candles
    /// end with "unit", day candles with prev_closing_price, change_price and change_rate.
    /// </summary>
    public static long WriteJsonLines(IEnumerable<Candle> candles, TextWriter writer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candles);
        ArgumentNullException.ThrowIfNull(writer);
        var bytes = new ArrayBufferWriter<byte>(1024);
        var chars = new char[1024];
        using var json = new Utf8JsonWriter(bytes, JsonOptions);
        long count = 0;
        foreach (var candle in candles)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bytes.ResetWrittenCount();
            json.Reset(bytes);
            WriteJsonCandle(json, candle);
            json.Flush();

            var needed = Encoding.UTF8.GetMaxCharCount(bytes.WrittenCount);
            if (chars.Length < needed) chars = new char[needed];
            var length = Encoding.UTF8.GetChars(bytes.WrittenSpan, chars);
            writer.Write(chars, 0, length);
            writer.Write('\n');
            count++;
        }
        return count;
    }

    private static void WriteJsonCandle(Utf8JsonWriter json, Candle candle)
    {
        json.WriteStartObject();
        json.WriteString("market", candle.Market);
        json.WriteString("candle_date_time_utc", StoredText.Instant(candle.StartUtc));
        json.WriteString("candle_date_time_kst", candle.StartKst);
        WriteExactNumber(json, "opening_price", candle.OpeningPrice);
        WriteExactNumber(json, "high_price", candle.HighPrice);
        WriteExactNumber(json, "low_price", candle.LowPrice);
        WriteExactNumber(json, "trade_price", candle.TradePrice);
        json.WriteNumber("timestamp", candle.Timestamp);
        WriteExactNumber(json, "candle_acc_trade_price", candle.AccTradePrice);
        WriteExactNumber(json, "candle_acc_trade_volume", candle.AccTradeVolume);
        if (candle.Unit.IsDay)
        {
            WriteExactNumber(json, "prev_closing_price", candle.PrevClosingPrice);
            WriteExactNumber(json, "change_price", candle.ChangePrice);
            WriteExactNumber(json, "change_rate", candle.ChangeRate);
        }
        else
        {
            json.WriteNumber("unit", candle.Unit.Minutes);
        }
        json.WriteEndObject();
    }

    // The invariant decimal text is a valid JSON number and keeps every digit, trailing zeros included
    // ("96123000.0"); writing it raw avoids any reformatting by the writer.
    private static void WriteExactNumber(Utf8JsonWriter json, string name, decimal? value)
    {
        json.WritePropertyName(name);
        if (value is { } number)
            json.WriteRawValue(StoredText.Decimal(number), skipInputValidation: true);
        else
            json.WriteNullValue();
    }

    private static void WriteCsvField(TextWriter writer, string? value)
    {
        if (value is null) return;
        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            writer.Write(value);
            return;
        }
        writer.Write('"');
        writer.Write(value.Replace("\"", "\"\"", StringComparison.Ordinal));
        writer.Write('"');
    }

    private static string? OrEmpty(decimal? value) => value is { } v ? StoredText.Decimal(v) : null;
}
