using Scraper.Domain;
using Scraper.Hosting.Export;

namespace Scraper.Hosting;

/// <summary><c>export --market M --unit U [--from T] [--to T] [--format csv|jsonl]</c>: stored candles to stdout, streamed.</summary>
internal static class ExportVerb
{
    /// <summary>Writes the candles; exit 0.</summary>
    public static int Run(ScraperSettings settings, ExportRequest request, ProgramContext app)
    {
        var market = request.Market?.Trim().ToUpperInvariant()
            ?? throw new ConfigException("invalid --market (missing): expected the market to export, e.g. --market KRW-BTC");
        if (!CandleUnit.TryParse(request.Unit, out var unit))
            throw new ConfigException($"invalid --unit '{request.Unit ?? "(missing)"}': expected one of 1,3,5,10,15,30,60,240,day");
        var now = app.Time.GetUtcNow();
        DateTimeOffset? from = null, to = null;
        if (request.From is not null)
            from = Durations.TryParseInstant(request.From, now, out var f) ? f : throw new ConfigException($"invalid --from '{request.From}': expected an ISO date/time or an age such as 7d");
        if (request.To is not null)
            to = Durations.TryParseInstant(request.To, now, out var t) ? t : throw new ConfigException($"invalid --to '{request.To}': expected an ISO date/time or an age such as 1d");
        var format = request.Format.ToLowerInvariant() switch
        {
            "csv" => ExportFormat.Csv,
            "jsonl" => ExportFormat.Jsonl,
            _ => throw new ConfigException($"invalid --format '{request.Format}': expected csv or jsonl"),
        };
        using var store = StoreFactory.Open(settings, app, readOnly: true);
        CandleExporter.Export(store, new SeriesKey(market, unit), format, app.Out, from, to);
        app.Out.Flush();
        return ExitCodes.Ok;
    }
}
