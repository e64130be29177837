using Microsoft.Data.Sqlite;

namespace Scraper.Storage.Sqlite;

/// <summary>Turns SQLite's errors into the one-line messages of <see cref="StoreException"/>.</summary>
internal static class SqliteErrors
{
    private const int SqliteReadOnly = 8;
    private const int SqliteIoError = 10;
    private const int SqliteCorrupt = 11;
    private const int SqliteCantOpen = 14;
    private const int SqliteNotADatabase = 26;
    private const int ErrnoReadOnlyFileSystem = 30; // EROFS; .NET puts errno into IOException.HResult on Unix

    /// <summary>True for the errors SQLite gives for a file that is not a database or is damaged.</summary>
    public static bool IsNotADatabase(SqliteException ex) => ex.SqliteErrorCode is SqliteCorrupt or SqliteNotADatabase;

    public static string OneLine(SqliteException ex) => ex.Message.ReplaceLineEndings(" ");

    /// <summary>The message of a failed write, with the reason the disk gives when SQLite's is vague.</summary>
    public static string WriteFailed(string path, string what, SqliteException ex)
    {
        var cause = ex.SqliteErrorCode is SqliteReadOnly or SqliteIoError or SqliteCantOpen ? WhyNotWritable(path) : null;
        return $"{path}: {what} failed: {OneLine(ex)}{(cause is null ? "" : "; " + cause)}";
    }

    /// <summary>
    /// SQLite says only "disk I/O error" when the file system turned read-only under it; the
    /// operating system says why. Probes by creating a file beside the database (opening the
    /// database file itself a second time would drop SQLite's POSIX locks when closed).
    /// </summary>
    private static string? WhyNotWritable(string path)
    {
        var probe = Path.Combine(Path.GetDirectoryName(path) ?? ".", $".bitcoin-price-scraper-probe-{Environment.ProcessId}");
        try
        {
            using var file = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
            return null;
        }
        catch (IOException e) when (e.HResult == ErrnoReadOnlyFileSystem)
        {
            return "the file system is read-only";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "its directory is not writable: " + e.Message.ReplaceLineEndings(" ").Split(" : '")[0];
        }
    }
}
