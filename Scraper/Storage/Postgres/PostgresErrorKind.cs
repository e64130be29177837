namespace Scraper.Storage.Postgres;

/// <summary>What to do about a database error.</summary>
internal enum PostgresErrorKind
{
    /// <summary>Not about the connection: a bad statement or a violated constraint. Fail.</summary>
    Other,
    /// <summary>The server is down, restarting or overloaded, or the network dropped: wait and retry.</summary>
    Transient,
    /// <summary>Retrying cannot help until someone changes the configuration: bad password, unknown database or role.</summary>
    Configuration,
}
