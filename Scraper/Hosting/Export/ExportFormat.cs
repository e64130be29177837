namespace Scraper.Hosting.Export;

/// <summary>The file formats <see cref="CandleExporter"/> writes.</summary>
internal enum ExportFormat
{
    /// <summary>RFC 4180 CSV with a header row of the database column names.</summary>
    Csv,

    /// <summary>JSON Lines: one object per candle with the exchange's field names.</summary>
    Jsonl,
}
