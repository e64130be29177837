namespace Scraper.Storage;

/// <summary>
/// One schema step: <paramref name="Sql"/> brings a store from version <paramref name="Version"/> - 1
/// to <paramref name="Version"/>. Each store keeps its own ordered list (the SQL differs between
/// databases); <see cref="SchemaMigrator"/> runs each step in its own transaction together with the
/// row it records, so a crash leaves either the old or the new version.
/// </summary>
internal sealed record Migration(int Version, string Description, string Sql);
