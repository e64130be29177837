namespace Scraper.Storage;

/// <summary>
/// What every store does with its ordered list of <see cref="Migration"/> steps; only the SQL and the
/// transaction are the store's own.
/// </summary>
internal static class SchemaMigrator
{
    /// <summary>
    /// Refuses a store this build must not use: a newer schema than it knows, or, when it may not
    /// write, one it would have to create or migrate first. <paramref name="store"/> names it in the message.
    /// </summary>
    public static void CheckOpenable(string store, int version, IReadOnlyList<Migration> steps, bool readOnly)
    {
        var known = steps[^1].Version;
        if (version > known)
            throw new StoreException(
                $"{store} has schema version {version}, newer than this build of bitcoin-price-scraper knows ({known}); use a newer release");
        if (readOnly && version == 0)
            throw new StoreException($"{store} is an empty database, not a bitcoin-price-scraper store");
        if (readOnly && version < known)
            throw new StoreException(
                $"{store} has schema version {version} and needs migrating to {known}; open it once read-write (run or backfill)");
    }

    /// <summary>Applies, in order, every step above the store's version, each in its own transaction.</summary>
    public static void Migrate(IReadOnlyList<Migration> steps, Func<IMigrationTransaction> begin, TimeProvider time)
    {
        foreach (var step in steps)
        {
            // A fresh look at the version inside the step's transaction: two processes opening a new
            // store at once apply each step exactly once.
            using var transaction = begin();
            var current = transaction.CurrentVersion();
            if (step.Version <= current) continue;
            if (step.Version != current + 1)
                throw new InvalidOperationException($"migration {step.Version} cannot follow version {current}");
            transaction.Apply(step, time.GetUtcNow());
            transaction.Commit();
        }
    }
}
