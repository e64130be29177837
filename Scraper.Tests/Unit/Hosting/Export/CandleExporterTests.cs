using Microsoft.Extensions.Time.Testing;
using System.Text.Json;
using Scraper.Domain;
using Scraper.Hosting.Export;
using Scraper.Storage.Sqlite;
using Scraper.Tests.Storage;
using static Scraper.Tests.Storage.TestCandles;

namespace Scraper.Tests.Hosting.Export;

public class CandleExporterTests
{
    private const string CsvHeader =
        "market,unit,candle_date_time_utc,candle_date_time_kst,opening_price,high_price,low_price,trade_price,timestamp," +
        "candle_acc_trade_price,candle_acc_trade_volume,prev_closing_price,change_price,change_rate\r\n";

    private static readonly Candle MinuteCandle = Minute(At(0)) with { TradePrice = 96123000.0m, AccTradeVolume = 0.03412345m };

    private static readonly Candle DayCandle =
        new("KRW-BTC", CandleUnit.Day, T0, "2025-06-24T09:00:00", 1m, 2m, 0.5m, 1.5m, 1, 10m, 20.00m, 1.25m, 0.25m, null);

    [Fact]
    public void WriteCsv_writes_a_header_and_one_crlf_row_per_candle_with_exact_decimals()
    {
        var text = new StringWriter();

        var count = CandleExporter.WriteCsv([MinuteCandle, DayCandle], text);

        Assert.Equal(2, count);
        Assert.Equal(
            CsvHeader +
            "KRW-BTC,1,2025-06-24T00:00:00,2025-06-24T09:00:00,96000000,96001000,95999000,96123000.0,1750723259000,123456789.12345,0.03412345,,,\r\n" +
            "KRW-BTC,day,2025-06-24T00:00:00,2025-06-24T09:00:00,1,2,0.5,1.5,1,10,20.00,1.25,0.25,\r\n",
            text.ToString());
    }

    [Fact]
    public void WriteCsv_quotes_fields_that_need_it()
    {
        var text = new StringWriter();

        CandleExporter.WriteCsv([MinuteCandle with { Market = "A,\"B\"", StartKst = "line\nbreak" }], text);

        Assert.StartsWith(CsvHeader + "\"A,\"\"B\"\"\",1,2025-06-24T00:00:00,\"line\nbreak\",96000000,", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void WriteCsv_of_no_candles_is_the_header_alone()
    {
        var text = new StringWriter();

        Assert.Equal(0, CandleExporter.WriteCsv([], text));
        Assert.Equal(CsvHeader, text.ToString());
    }

    [Fact]
    public void WriteJsonLines_writes_one_object_per_line_with_the_exchange_field_names()
    {
        var text = new StringWriter();

        var count = CandleExporter.WriteJsonLines([MinuteCandle, DayCandle], text);

        Assert.Equal(2, count);
        Assert.Equal(
            """{"market":"KRW-BTC","candle_date_time_utc":"2025-06-24T00:00:00","candle_date_time_kst":"2025-06-24T09:00:00","opening_price":96000000,"high_price":96001000,"low_price":95999000,"trade_price":96123000.0,"timestamp":1750723259000,"candle_acc_trade_price":123456789.12345,"candle_acc_trade_volume":0.03412345,"unit":1}""" + "\n" +
            """{"market":"KRW-BTC","candle_date_time_utc":"2025-06-24T00:00:00","candle_date_time_kst":"2025-06-24T09:00:00","opening_price":1,"high_price":2,"low_price":0.5,"trade_price":1.5,"timestamp":1,"candle_acc_trade_price":10,"candle_acc_trade_volume":20.00,"prev_closing_price":1.25,"change_price":0.25,"change_rate":null}""" + "\n",
            text.ToString());
    }

    [Fact]
    public void WriteJsonLines_output_parses_back_to_the_same_decimals()
    {
        var candle = MinuteCandle with { AccTradeVolume = 12345678901.234567890m, LowPrice = -0.00000001m };
        var text = new StringWriter();

        CandleExporter.WriteJsonLines([candle], text);

        using var json = JsonDocument.Parse(text.ToString());
        Assert.Equal(12345678901.234567890m, json.RootElement.GetProperty("candle_acc_trade_volume").GetDecimal());
        Assert.Equal(-0.00000001m, json.RootElement.GetProperty("low_price").GetDecimal());
        Assert.Equal("12345678901.234567890", json.RootElement.GetProperty("candle_acc_trade_volume").GetRawText());
    }

    [Fact]
    public void Export_streams_a_stored_series_in_the_requested_format()
    {
        using var dir = new TempDirectory();
        using var store = SqliteCandleStore.Open(dir.File("candles.db"), new FakeTimeProvider(T0));
        store.SaveResponse(BtcMinute, Minutes(0, 2500), Range(0, 2500));
        store.SaveResponse(new SeriesKey("KRW-ETH", CandleUnit.FromMinutes(1)), [Minute(At(0), market: "KRW-ETH")], null);

        var csv = new StringWriter();
        var jsonl = new StringWriter();
        var csvCount = CandleExporter.Export(store, BtcMinute, ExportFormat.Csv, csv, from: At(10));
        var jsonCount = CandleExporter.Export(store, BtcMinute, ExportFormat.Jsonl, jsonl, from: At(10), to: At(20));

        Assert.Equal(2490, csvCount);
        var csvLines = csv.ToString().Split("\r\n");
        Assert.Equal(2492, csvLines.Length); // header + rows + the empty string after the last CRLF
        Assert.StartsWith("KRW-BTC,1,2025-06-24T00:10:00,", csvLines[1], StringComparison.Ordinal);
        Assert.StartsWith("KRW-BTC,1,2025-06-25T17:39:00,", csvLines[^2], StringComparison.Ordinal);
        Assert.Equal(10, jsonCount);
        Assert.Equal(10, jsonl.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Export_stops_when_cancelled()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.Throws<OperationCanceledException>(() => CandleExporter.WriteJsonLines([MinuteCandle], new StringWriter(), cancel.Token));
    }
}
