using System.Net.Sockets;
using Npgsql;

namespace Scraper.Storage.Postgres;

/// <summary>Sorts database errors into retry, fix-the-configuration and fail (a pure function).</summary>
internal static class PostgresErrors
{
    /// <summary>Classifies <paramref name="error"/> (or the first database error inside it).</summary>
    public static PostgresErrorKind Classify(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is PostgresException pg) return ClassifyState(pg.SqlState);
            // A connection lost mid-command: refused, reset, timed out, or its stream torn down
            // under a waiting read (ObjectDisposedException) when the server crashed.
            if (e is NpgsqlException { InnerException: SocketException or IOException or TimeoutException or EndOfStreamException or ObjectDisposedException })
                return PostgresErrorKind.Transient;
            if (e is NpgsqlException npgsql && npgsql.IsTransient) return PostgresErrorKind.Transient;
            if (e is SocketException or IOException) return PostgresErrorKind.Transient;
        }
        return PostgresErrorKind.Other;
    }

    /// <summary>Classifies an SQLSTATE.</summary>
    public static PostgresErrorKind ClassifyState(string sqlState)
    {
        ArgumentNullException.ThrowIfNull(sqlState);
        return sqlState switch
        {
            "28P01" or "28000" => PostgresErrorKind.Configuration, // invalid password, invalid authorization (no such role, pg_hba)
            "3D000" => PostgresErrorKind.Configuration,            // the database does not exist
            "42501" => PostgresErrorKind.Configuration,            // insufficient privilege
            "57P01" or "57P02" or "57P03" => PostgresErrorKind.Transient, // admin or crash shutdown, starting up
            "40001" or "40P01" => PostgresErrorKind.Transient,     // serialization failure, deadlock: the transaction may run again
            "55P03" => PostgresErrorKind.Transient,                // lock not available
            "58000" or "58030" => PostgresErrorKind.Transient,     // system or I/O error on the server
            _ when sqlState.StartsWith("08", StringComparison.Ordinal) => PostgresErrorKind.Transient, // connection exceptions
            _ when sqlState.StartsWith("53", StringComparison.Ordinal) => PostgresErrorKind.Transient, // insufficient resources: disk full, too many connections
            _ => PostgresErrorKind.Other,
        };
    }

    /// <summary>One line describing the error, without connection details or secrets.</summary>
    public static string Describe(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is PostgresException pg) return $"{pg.MessageText} (SQLSTATE {pg.SqlState})".ReplaceLineEndings(" ");
        }
        var inner = error;
        while (inner.InnerException is not null && inner is NpgsqlException) inner = inner.InnerException;
        return inner.Message.ReplaceLineEndings(" ");
    }
}
