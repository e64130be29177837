namespace Scraper.Hosting;

/// <summary><c>verify</c>: per market and unit, the covered ranges, the number of candles, and every gap.</summary>
internal static class VerifyVerb
{
    /// <summary>Exit 0 when every configured series is complete in the configured range, 1 on a gap.</summary>
    public static int Run(ScraperSettings settings, ProgramContext app)
    {
        using var store = StoreFactory.Open(settings, app, readOnly: true);
        var now = app.Time.GetUtcNow();
        var gaps = 0;
        foreach (var series in settings.Series)
        {
            var report = SeriesReport.For(store, series, settings.Since, settings.Until, now);
            report.WriteTo(app.Out);
            gaps += report.Gaps.Count;
        }
        foreach (var other in store.ListSeries().Where(s => !settings.Series.Contains(s)))
        {
            app.Out.WriteLine($"{other.Market} unit {other.Unit.Name}: {store.CountCandles(other)} candles (not configured; not checked)");
        }
        app.Out.WriteLine(gaps == 0 ? "verify: complete" : $"verify: {gaps} gap(s) inside the configured range");
        return gaps == 0 ? ExitCodes.Ok : ExitCodes.Incomplete;
    }
}
