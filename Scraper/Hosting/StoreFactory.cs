using Microsoft.Extensions.Logging;
using Scraper.Metrics;
using Scraper.Storage;
using Scraper.Storage.Sqlite;
using Scraper.Storage.Postgres;

namespace Scraper.Hosting;

/// <summary>
/// Opens the store --db names: a PostgreSQL connection string (postgres://… or Host=…;Database=…)
/// or else an SQLite file. The password of PostgreSQL comes from --db-password-file (or the systemd
/// credential db-password), PGPASSWORD or ~/.pgpass; no message shows it.
/// </summary>
internal static partial class StoreFactory
{
    /// <summary>What logs and errors call the database: the SQLite file's full path, or "postgres HOST:PORT/DATABASE".</summary>
    public static string Describe(string db)
    {
        if (!PostgresConnectionSettings.IsPostgres(db)) return Path.GetFullPath(db);
        try
        {
            return PostgresConnectionSettings.Parse(db).Target;
        }
        catch (FormatException)
        {
            return "postgres (invalid connection string)";
        }
    }

    /// <summary>
    /// Opens the store. With <paramref name="loggers"/> a PostgreSQL server that is down is waited for
    /// (logged, and <c>scraper_store_available</c> 0); without, its absence is an error at once.
    /// A bad password or an unknown database is a <see cref="ConfigException"/>.
    /// </summary>
    public static ICandleStore Open(ScraperSettings settings, ProgramContext app, bool readOnly, ILoggerFactory? loggers = null, ScraperMetrics? metrics = null)
    {
        if (!PostgresConnectionSettings.IsPostgres(settings.DbPath)) return SqliteCandleStore.Open(settings.DbPath, app.Time, readOnly);

        PostgresConnectionSettings connection;
        try
        {
            connection = PostgresConnectionSettings.Parse(settings.DbPath, ReadPassword(settings.DbPasswordFile));
        }
        catch (FormatException e)
        {
            throw new ConfigException($"invalid --db (PostgreSQL connection string): it {e.Message}");
        }
        var logger = loggers?.CreateLogger("Scraper.Store");
        if (connection.PasswordInline && logger is not null) LogInlinePassword(logger, connection.Target);
        try
        {
            return PostgresCandleStore.Open(connection, app.Time, new PostgresStoreOptions
            {
                ReadOnly = readOnly,
                Availability = logger is null ? null : new StoreAvailabilityLog(logger, metrics, app.Time),
                Stop = app.Stop,
            });
        }
        catch (StoreException e) when (PostgresErrors.Classify(e) == PostgresErrorKind.Configuration)
        {
            throw new ConfigException(e.Message);
        }
    }

    internal static string? ReadPassword(string? file)
    {
        if (file is null) return null;
        string text;
        try
        {
            text = File.ReadAllText(file).TrimEnd('\r', '\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"invalid --db-password-file '{file}': expected a readable file holding the password ({SettingsLoader.FirstLine(e.Message)})");
        }
        return text.Length == 0 ? throw new ConfigException($"invalid --db-password-file '{file}': expected the file to hold the password, but it is empty") : text;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "the --db value for {Target} holds a password, which every user can see in ps; prefer --db-password-file, the systemd credential db-password, PGPASSWORD or ~/.pgpass")]
    private static partial void LogInlinePassword(ILogger logger, string target);
}
