using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Scraper.Storage.Sqlite;

/// <summary>
/// Looks at an existing file without writing to it, so a file that is not ours can be refused
/// byte-for-byte untouched: not an SQLite database, corrupted, or another application's database.
/// </summary>
internal static class SqliteFileInspection
{
    /// <summary>The file's schema version (0 for an empty database), or a <see cref="StoreException"/> when it must not be touched.</summary>
    public static int SchemaVersion(string path)
    {
        if (new FileInfo(path).Length == 0) return 0;
        if (!HasSqliteHeader(path)) throw NotSqlite(path, null);
        try
        {
            using var connection = SqliteConnections.Open(InspectionSource(path), SqliteOpenMode.ReadOnly);
            var objects = SqliteConnections.Column(
                connection,
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
            if (objects.Count == 0) return 0;

            var applicationId = Convert.ToInt64(SqliteConnections.Scalar(connection, "PRAGMA application_id"), CultureInfo.InvariantCulture);
            if (!objects.Contains(SqliteSchema.VersionTable) || applicationId != SqliteSchema.ApplicationId)
            {
                var shown = objects.Count <= 10 ? string.Join(", ", objects) : string.Join(", ", objects.Take(10)) + ", …";
                throw new StoreException($"{path} is a foreign database (tables: {shown}), not a bitcoin-price-scraper store");
            }

            return Convert.ToInt32(
                SqliteConnections.Scalar(connection, $"SELECT coalesce(max(version), 0) FROM {SqliteSchema.VersionTable}"),
                CultureInfo.InvariantCulture);
        }
        catch (SqliteException ex) when (SqliteErrors.IsNotADatabase(ex))
        {
            throw NotSqlite(path, ex);
        }
        catch (SqliteException ex)
        {
            throw new StoreException($"{path} cannot be read: {SqliteErrors.OneLine(ex)}", ex);
        }
    }

    /// <summary>
    /// Even a read-only connection creates -wal and -shm files beside a WAL-mode database. When no -wal
    /// file exists nobody has the database open in WAL mode and every committed page is in the main file,
    /// so it is read as immutable: no lock, no side file, nothing written next to a file we may refuse.
    /// </summary>
    private static string InspectionSource(string path)
    {
        if (File.Exists(path + "-wal")) return path;
        var uri = new StringBuilder("file:");
        foreach (var b in Encoding.UTF8.GetBytes(path))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'/' or (byte)'.' or (byte)'-' or (byte)'_' or (byte)'~')
                uri.Append((char)b);
            else
                uri.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return uri.Append("?immutable=1").ToString();
    }

    private static StoreException NotSqlite(string path, Exception? inner)
    {
        var message = $"{path} is not an SQLite database (or is corrupted)";
        return inner is null ? new StoreException(message) : new StoreException(message, inner);
    }

    private static bool HasSqliteHeader(string path)
    {
        ReadOnlySpan<byte> magic = "SQLite format 3\0"u8;
        Span<byte> header = stackalloc byte[16];
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) == header.Length && header.SequenceEqual(magic);
    }
}
