namespace Scraper.Storage.Postgres;

/// <summary>Told when the database stops and starts answering; the host turns it into log lines and metrics.</summary>
internal interface IStoreAvailability
{
    /// <summary>An attempt failed with a transient error; the next one follows in <paramref name="retryIn"/>.</summary>
    void Unavailable(string target, string error, TimeSpan retryIn);

    /// <summary>The database answers again after <paramref name="unavailableFor"/> (monotonic clock).</summary>
    void Available(string target, TimeSpan unavailableFor);
}
