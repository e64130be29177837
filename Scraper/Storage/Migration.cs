namespace Scraper.Storage;

/// <summary>
/// One schema step: <paramref name="Sql"/> brings the database from version
/// <paramref name="Version"/> - 1 to <paramref name="Version"/>. Each step runs in its own transaction
/// together with the row it adds to schema_version, so a crash leaves either the old or the new version.
/// </summary>
internal sealed record Migration(int Version, string Description, string Sql);
