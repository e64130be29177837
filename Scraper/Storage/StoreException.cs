namespace Scraper.Storage;

/// <summary>
/// The store cannot be used: its database is not one (e.g. not an SQLite file), is corrupted, belongs
/// to another application, has a newer schema than this build knows, or cannot be opened or written.
/// The message is one line that names the store and what is wrong; the host maps it to exit code 74.
/// </summary>
internal sealed class StoreException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public StoreException()
        : base("The candle store is unusable.")
    {
    }

    /// <summary>Creates the exception with a one-line message naming the file and the problem.</summary>
    public StoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a one-line message and the underlying cause.</summary>
    public StoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
