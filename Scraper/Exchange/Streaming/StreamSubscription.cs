using System.Text;
using System.Text.Json;
using Scraper.Domain;

namespace Scraper.Exchange.Streaming;

/// <summary>
/// What one connection asks for: candle streams of some markets × minute units and the tickers of
/// some markets. Day candles are not on the stream and are never part of it.
/// </summary>
internal sealed record StreamSubscription(IReadOnlyList<SeriesKey> Candles, IReadOnlyList<string> Tickers)
{
    /// <summary>The subscription of every minute series given and the ticker of each of their markets.</summary>
    public static StreamSubscription For(IEnumerable<SeriesKey> series)
    {
        var minute = series.Where(s => !s.Unit.IsDay).Distinct().ToList();
        return For(minute, minute.Select(s => s.Market));
    }

    /// <summary>The subscription of every minute series given and the ticker of every market in <paramref name="tickers"/>.</summary>
    public static StreamSubscription For(IEnumerable<SeriesKey> series, IEnumerable<string> tickers) =>
        new([.. series.Where(s => !s.Unit.IsDay).Distinct()], [.. tickers.Distinct(StringComparer.Ordinal)]);

    /// <summary>(type, code) pairs: what the limits count.</summary>
    public int Pairs => Candles.Count + Tickers.Count;

    /// <summary>True when nothing is left to ask for.</summary>
    public bool IsEmpty => Pairs == 0;

    /// <summary>Every market code asked for.</summary>
    public IEnumerable<string> Codes => Candles.Select(c => c.Market).Concat(Tickers).Distinct(StringComparer.Ordinal);

    /// <summary>The same without <paramref name="codes"/>.</summary>
    public StreamSubscription Without(IReadOnlyCollection<string> codes) =>
        new([.. Candles.Where(c => !codes.Contains(c.Market))], [.. Tickers.Where(t => !codes.Contains(t))]);

    /// <summary>
    /// Splits into parts of at most <paramref name="maxPairs"/> pairs, keeping a market's streams
    /// together where it can: one part unless the limit requires more.
    /// </summary>
    public IReadOnlyList<StreamSubscription> Split(int maxPairs)
    {
        if (Pairs <= maxPairs) return [this];
        var parts = new List<StreamSubscription>();
        var candles = new List<SeriesKey>();
        var tickers = new List<string>();
        foreach (var market in Codes)
        {
            var mine = Candles.Where(c => c.Market == market).ToList();
            var ticker = Tickers.Contains(market) ? 1 : 0;
            if (candles.Count + tickers.Count > 0 && candles.Count + tickers.Count + mine.Count + ticker > maxPairs)
            {
                parts.Add(new StreamSubscription(candles, tickers));
                candles = [];
                tickers = [];
            }
            candles.AddRange(mine);
            if (ticker == 1) tickers.Add(market);
        }
        if (candles.Count + tickers.Count > 0) parts.Add(new StreamSubscription(candles, tickers));
        return parts;
    }

    /// <summary>The request text: a ticket, one object per type with its codes (upper case), the format.</summary>
    public string ToRequest(string ticket)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartArray();
            w.WriteStartObject();
            w.WriteString("ticket", ticket);
            w.WriteEndObject();
            foreach (var unit in Candles.Select(c => c.Unit).Distinct().OrderBy(u => u.Minutes))
                WriteType(w, StreamMessageReader.TypeOf(unit), Candles.Where(c => c.Unit == unit).Select(c => c.Market));
            if (Tickers.Count > 0) WriteType(w, "ticker", Tickers);
            w.WriteStartObject();
            w.WriteString("format", "DEFAULT");
            w.WriteEndObject();
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>A short description for logs: "3 markets × 1,5m + ticker".</summary>
    public override string ToString() =>
        $"{Codes.Count()} markets × candle {string.Join(',', Candles.Select(c => c.Unit.Name).Distinct())}m{(Tickers.Count > 0 ? " + ticker" : "")}";

    private static void WriteType(Utf8JsonWriter w, string type, IEnumerable<string> codes)
    {
        w.WriteStartObject();
        w.WriteString("type", type);
        w.WriteStartArray("codes");
        foreach (var code in codes) w.WriteStringValue(code.ToUpperInvariant());
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
