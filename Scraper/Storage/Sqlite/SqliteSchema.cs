namespace Scraper.Storage.Sqlite;

/// <summary>The SQLite store's schema: its migration steps and the marks that tell our files from others.</summary>
internal static class SqliteSchema
{
    /// <summary>
    /// Written into the SQLite header (PRAGMA application_id) by the first migration, so a file with a
    /// schema_version table of some other application is not mistaken for ours. 0x42505343 = "BPSC".
    /// </summary>
    public const int ApplicationId = StoreMarks.ApplicationId;

    /// <summary>The table every store has; its highest version is the schema version of the file.</summary>
    public const string VersionTable = StoreMarks.VersionTable;

    /// <summary>Every migration step, in order. Append new steps; never edit a released one.</summary>
    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new Migration(1, "candles and coverage", $"""
            CREATE TABLE schema_version (
                version     INTEGER PRIMARY KEY,
                description TEXT NOT NULL,
                applied_at  TEXT NOT NULL
            );

            -- Prices and volumes are decimal text (invariant culture) so no digit is lost; TEXT
            -- affinity keeps them text. CAST(trade_price AS REAL) still works for ad-hoc queries.
            CREATE TABLE candles (
                market                  TEXT NOT NULL,
                unit                    TEXT NOT NULL CHECK (unit IN ('1','3','5','10','15','30','60','240','day')),
                candle_date_time_utc    TEXT NOT NULL,
                candle_date_time_kst    TEXT NOT NULL,
                opening_price           TEXT NOT NULL,
                high_price              TEXT NOT NULL,
                low_price               TEXT NOT NULL,
                trade_price             TEXT NOT NULL,
                timestamp               INTEGER NOT NULL,
                candle_acc_trade_price  TEXT NOT NULL,
                candle_acc_trade_volume TEXT NOT NULL,
                prev_closing_price      TEXT,
                change_price            TEXT,
                change_rate             TEXT,
                fetched_at              TEXT NOT NULL,
                PRIMARY KEY (market, unit, candle_date_time_utc)
            ) WITHOUT ROWID;

            -- Merged half-open ranges [start_utc, end_utc) that were fetched completely. A range
            -- without candles is a period without trades, not missing data.
            CREATE TABLE coverage (
                market    TEXT NOT NULL,
                unit      TEXT NOT NULL CHECK (unit IN ('1','3','5','10','15','30','60','240','day')),
                start_utc TEXT NOT NULL,
                end_utc   TEXT NOT NULL CHECK (end_utc > start_utc),
                PRIMARY KEY (market, unit, start_utc)
            ) WITHOUT ROWID;

            PRAGMA application_id = {ApplicationId};
            """),
    ];

    /// <summary>The newest schema version this build knows.</summary>
    public static int CurrentVersion => Migrations[^1].Version;
}
