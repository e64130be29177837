namespace Scraper.Storage.Postgres;

/// <summary>
/// The PostgreSQL store's schema: its migration steps and the marker that tells our databases from
/// others. Column names are the SQLite store's, so queries and exports read the same on both.
/// </summary>
internal static class PostgresSchema
{
    /// <summary>The one-row table that marks a database (schema) as a bitcoin-price-scraper store.</summary>
    public const string MarkerTable = "bitcoin_price_scraper_store";

    /// <summary>The value in the marker row: the SQLite store's application_id, "BPSC".</summary>
    public const int ApplicationId = StoreMarks.ApplicationId;

    /// <summary>The table every store has; its highest version is the schema version.</summary>
    public const string VersionTable = StoreMarks.VersionTable;

    /// <summary>Key of the advisory lock that serialises migrations and partition creation between processes.</summary>
    public const long SchemaLock = 0x42505343_0000_0001;

    /// <summary>Every migration step, in order. Append new steps; never edit a released one.</summary>
    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new Migration(1, "candles and coverage", $"""
            CREATE TABLE {MarkerTable} (
                application_id integer PRIMARY KEY CHECK (application_id = {ApplicationId}),
                application    text NOT NULL
            );
            INSERT INTO {MarkerTable} VALUES ({ApplicationId}, 'bitcoin-price-scraper');

            CREATE TABLE {VersionTable} (
                version     integer PRIMARY KEY,
                description text NOT NULL,
                applied_at  timestamptz NOT NULL
            );

            -- Exact numeric prices and volumes (the scale the exchange sent is kept). Range partitions
            -- by month of the candle start, created ahead as candles arrive, keep writes on small
            -- indexes and let time-bounded queries skip whole months.
            CREATE TABLE candles (
                market                  text NOT NULL,
                unit                    text NOT NULL CHECK (unit IN ('1','3','5','10','15','30','60','240','day')),
                candle_date_time_utc    timestamptz NOT NULL,
                candle_date_time_kst    text NOT NULL,
                opening_price           numeric NOT NULL,
                high_price              numeric NOT NULL,
                low_price               numeric NOT NULL,
                trade_price             numeric NOT NULL,
                timestamp               bigint NOT NULL,
                candle_acc_trade_price  numeric NOT NULL,
                candle_acc_trade_volume numeric NOT NULL,
                prev_closing_price      numeric,
                change_price            numeric,
                change_rate             numeric,
                fetched_at              timestamptz NOT NULL,
                PRIMARY KEY (market, unit, candle_date_time_utc)
            ) PARTITION BY RANGE (candle_date_time_utc);

            -- Merged half-open ranges [start_utc, end_utc) that were fetched completely. A range
            -- without candles is a period without trades, not missing data.
            CREATE TABLE coverage (
                market    text NOT NULL,
                unit      text NOT NULL CHECK (unit IN ('1','3','5','10','15','30','60','240','day')),
                start_utc timestamptz NOT NULL,
                end_utc   timestamptz NOT NULL CHECK (end_utc > start_utc),
                PRIMARY KEY (market, unit, start_utc)
            );
            """),
    ];

    /// <summary>The newest schema version this build knows.</summary>
    public static int CurrentVersion => Migrations[^1].Version;

    /// <summary>The partition of the month that starts at <paramref name="monthStart"/> (UTC).</summary>
    public static string PartitionName(DateTime monthStart) => $"candles_{monthStart:yyyy}_{monthStart:MM}";
}
