namespace Scraper.Storage.Postgres;

/// <summary>How a PostgreSQL store is opened.</summary>
internal sealed record PostgresStoreOptions
{
    /// <summary>verify and export only read: nothing is created or migrated, and the server refuses writes.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>
    /// When set, transient failures (server down or restarting) are waited out and reported here,
    /// at open and on every call; when null the first failure throws.
    /// </summary>
    public IStoreAvailability? Availability { get; init; }

    /// <summary>Ends waiting for an unavailable database.</summary>
    public CancellationToken Stop { get; init; }
}
