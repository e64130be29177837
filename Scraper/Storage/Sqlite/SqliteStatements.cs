using Microsoft.Data.Sqlite;

namespace Scraper.Storage.Sqlite;

/// <summary>
/// The store's statements, prepared once per connection. Parameters are bound by position, in the
/// order each statement names them; instants and bounds are <see cref="StoredText"/> text.
/// </summary>
internal sealed class SqliteStatements : IDisposable
{
    /// <summary>Candles per page of <see cref="ReadFirstPage"/> and <see cref="ReadNextPage"/>.</summary>
    public const int ReadPageSize = 1000;

    private readonly SqliteConnection _connection;
    private readonly List<SqliteCommand> _all = [];

    public SqliteStatements(SqliteConnection connection)
    {
        _connection = connection;

        Upsert = new SqliteUpsertStatement(connection);

        // Overlapping or touching ranges (Coverage.Touches): start <= new end and end >= new start.
        const string touching = "market = $market AND unit = $unit AND start_utc <= $end AND end_utc >= $start";
        CoverageTouching = Prepare($"SELECT start_utc, end_utc FROM coverage WHERE {touching}", "$market", "$unit", "$start", "$end");
        CoverageDeleteTouching = Prepare($"DELETE FROM coverage WHERE {touching}", "$market", "$unit", "$start", "$end");
        CoverageInsert = Prepare(
            "INSERT INTO coverage (market, unit, start_utc, end_utc) VALUES ($market, $unit, $start, $end)",
            "$market", "$unit", "$start", "$end");
        CoverageRead = Prepare(
            "SELECT start_utc, end_utc FROM coverage WHERE market = $market AND unit = $unit ORDER BY start_utc",
            "$market", "$unit");
        Count = Prepare(
            """
            SELECT count(*) FROM candles
            WHERE market = $market AND unit = $unit AND candle_date_time_utc >= $from AND candle_date_time_utc < $to
            """,
            "$market", "$unit", "$from", "$to");
        // Keyset paging. The next page has one lower bound only (> the last key read): given two,
        // SQLite would seek by the first and scan every earlier row again on each page.
        ReadFirstPage = Prepare(
            $"""
            SELECT {SqliteCandleRows.Columns} FROM candles
            WHERE market = $market AND unit = $unit AND candle_date_time_utc >= $lower AND candle_date_time_utc < $to
            ORDER BY candle_date_time_utc
            LIMIT {ReadPageSize}
            """,
            "$market", "$unit", "$lower", "$to");
        ReadNextPage = Prepare(
            $"""
            SELECT {SqliteCandleRows.Columns} FROM candles
            WHERE market = $market AND unit = $unit AND candle_date_time_utc > $lower AND candle_date_time_utc < $to
            ORDER BY candle_date_time_utc
            LIMIT {ReadPageSize}
            """,
            "$market", "$unit", "$lower", "$to");
        Newest = Prepare(
            "SELECT max(candle_date_time_utc) FROM candles WHERE market = $market AND unit = $unit",
            "$market", "$unit");
        // Skip from series to series through the primary key instead of scanning every candle.
        NextUnitOfMarket = Prepare(
            "SELECT unit FROM candles WHERE market = $market AND unit > $unit ORDER BY unit LIMIT 1",
            "$market", "$unit");
        FirstSeriesAfterMarket = Prepare(
            "SELECT market, unit FROM candles WHERE market > $market ORDER BY market, unit LIMIT 1",
            "$market");
        CoverageSeries = Prepare("SELECT DISTINCT market, unit FROM coverage");
    }

    /// <summary>Inserts candles or replaces every value of the stored ones.</summary>
    public SqliteUpsertStatement Upsert { get; }

    /// <summary>The coverage rows of (market, unit) that touch [start, end).</summary>
    public SqliteCommand CoverageTouching { get; }

    /// <summary>Deletes what <see cref="CoverageTouching"/> selects, with the same parameters.</summary>
    public SqliteCommand CoverageDeleteTouching { get; }

    /// <summary>(market, unit, start, end).</summary>
    public SqliteCommand CoverageInsert { get; }

    /// <summary>(market, unit): every coverage row, by start.</summary>
    public SqliteCommand CoverageRead { get; }

    /// <summary>(market, unit, from, to): candles with start in [from, to).</summary>
    public SqliteCommand Count { get; }

    /// <summary>(market, unit, lower, to): a page of candles with start in [lower, to).</summary>
    public SqliteCommand ReadFirstPage { get; }

    /// <summary>(market, unit, lower, to): a page of candles with start in (lower, to).</summary>
    public SqliteCommand ReadNextPage { get; }

    /// <summary>(market, unit): the newest candle start, or NULL.</summary>
    public SqliteCommand Newest { get; }

    /// <summary>(market, unit): the next unit of the market that has candles.</summary>
    public SqliteCommand NextUnitOfMarket { get; }

    /// <summary>(market): the first (market, unit) with candles after the market.</summary>
    public SqliteCommand FirstSeriesAfterMarket { get; }

    /// <summary>Every (market, unit) with coverage.</summary>
    public SqliteCommand CoverageSeries { get; }

    public static void Bind(SqliteCommand command, params string[] values)
    {
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i];
    }

    public void Dispose()
    {
        Upsert.Dispose();
        foreach (var command in _all) command.Dispose();
    }

    private SqliteCommand Prepare(string sql, params string[] parameterNames)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameterNames) command.Parameters.Add(new SqliteParameter(name, null));
        _all.Add(command);
        command.Prepare();
        return command;
    }
}
