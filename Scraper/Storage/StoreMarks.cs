namespace Scraper.Storage;

/// <summary>What every store writes so that a database of ours is told from anything else.</summary>
internal static class StoreMarks
{
    /// <summary>"BPSC": SQLite's PRAGMA application_id, and the value of PostgreSQL's marker row.</summary>
    public const int ApplicationId = 0x42505343;

    /// <summary>The table every store has; its highest version is the schema version.</summary>
    public const string VersionTable = "schema_version";
}
