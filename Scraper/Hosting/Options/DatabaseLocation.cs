namespace Scraper.Hosting.Options;

/// <summary>The --db value: as given, and as used (an absolute file path, or the connection string unchanged).</summary>
/// <param name="Given">The value as configured (or the default).</param>
/// <param name="Resolved">The absolute SQLite path, or the PostgreSQL connection string.</param>
/// <param name="IsPostgres">Whether it names a PostgreSQL database rather than a file.</param>
internal sealed record DatabaseLocation(string Given, string Resolved, bool IsPostgres);
