namespace Scraper.Storage;

/// <summary>
/// A store's side of one migration step: a transaction in which the store reads its schema version,
/// applies a step and records it. Disposing without <see cref="Commit"/> rolls the step back.
/// </summary>
internal interface IMigrationTransaction : IDisposable
{
    /// <summary>The highest recorded version, 0 for a store without a schema.</summary>
    int CurrentVersion();

    /// <summary>Runs the step's schema text and records its version, description and time.</summary>
    void Apply(Migration step, DateTimeOffset appliedAt);

    void Commit();
}
