using Microsoft.Extensions.Time.Testing;
using Scraper.Storage;

namespace Scraper.Tests.Storage;

/// <summary>The migration mechanism every store shares, against a store kept in memory.</summary>
public sealed class SchemaMigratorTests
{
    private static readonly Migration One = new(1, "one", "step 1");
    private static readonly Migration Two = new(2, "two", "step 2");
    private static readonly Migration Three = new(3, "three", "step 3");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 24, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Migrate_a_new_store_applies_every_step_in_order_each_in_its_own_transaction()
    {
        var store = new InMemorySchema();

        SchemaMigrator.Migrate([One, Two, Three], store.Begin, _time);

        Assert.Equal([(1, _time.GetUtcNow()), (2, _time.GetUtcNow()), (3, _time.GetUtcNow())], store.Committed);
        Assert.Equal(["begin", "apply 1", "commit", "begin", "apply 2", "commit", "begin", "apply 3", "commit"], store.Log);
    }

    [Fact]
    public void Migrate_skips_the_steps_a_store_already_has()
    {
        var store = new InMemorySchema();
        SchemaMigrator.Migrate([One], store.Begin, _time);
        store.Log.Clear();

        SchemaMigrator.Migrate([One, Two], store.Begin, _time);

        Assert.Equal([1, 2], store.Committed.Select(c => c.Version));
        Assert.Equal(["begin", "end", "begin", "apply 2", "commit"], store.Log);
    }

    [Fact]
    public void Migrate_refuses_a_step_that_does_not_follow_the_current_version()
    {
        var store = new InMemorySchema();

        var error = Assert.Throws<InvalidOperationException>(() => SchemaMigrator.Migrate([One, Three], store.Begin, _time));

        Assert.Equal("migration 3 cannot follow version 1", error.Message);
        Assert.Equal([1], store.Committed.Select(c => c.Version));
    }

    [Fact]
    public void Migrate_stops_at_a_failing_step_and_keeps_the_steps_before_it()
    {
        var store = new InMemorySchema { Failing = 2 };

        Assert.Throws<InvalidDataException>(() => SchemaMigrator.Migrate([One, Two, Three], store.Begin, _time));

        Assert.Equal([1], store.Committed.Select(c => c.Version));
        Assert.Equal(["begin", "apply 1", "commit", "begin", "end"], store.Log);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(2, true)]
    public void CheckOpenable_accepts_a_store_this_build_can_use(int version, bool readOnly)
    {
        SchemaMigrator.CheckOpenable("/data/candles.db", version, [One, Two], readOnly);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CheckOpenable_refuses_a_newer_schema(bool readOnly)
    {
        var error = Assert.Throws<StoreException>(() => SchemaMigrator.CheckOpenable("/data/candles.db", 3, [One, Two], readOnly));

        Assert.Equal(
            "/data/candles.db has schema version 3, newer than this build of bitcoin-price-scraper knows (2); use a newer release",
            error.Message);
    }

    [Fact]
    public void CheckOpenable_read_only_refuses_an_empty_store()
    {
        var error = Assert.Throws<StoreException>(() => SchemaMigrator.CheckOpenable("/data/candles.db", 0, [One, Two], readOnly: true));

        Assert.Equal("/data/candles.db is an empty database, not a bitcoin-price-scraper store", error.Message);
    }

    [Fact]
    public void CheckOpenable_read_only_refuses_a_store_that_needs_migrating()
    {
        var error = Assert.Throws<StoreException>(() => SchemaMigrator.CheckOpenable("/data/candles.db", 1, [One, Two], readOnly: true));

        Assert.Equal(
            "/data/candles.db has schema version 1 and needs migrating to 2; open it once read-write (run or backfill)",
            error.Message);
    }

    private sealed class InMemorySchema
    {
        public List<(int Version, DateTimeOffset AppliedAt)> Committed { get; } = [];

        public List<string> Log { get; } = [];

        public int? Failing { get; init; }

        public IMigrationTransaction Begin()
        {
            Log.Add("begin");
            return new Transaction(this);
        }

        private sealed class Transaction(InMemorySchema schema) : IMigrationTransaction
        {
            private readonly List<(int, DateTimeOffset)> _staged = [];
            private bool _done;

            public int CurrentVersion() => schema.Committed.Count == 0 ? 0 : schema.Committed.Max(c => c.Version);

            public void Apply(Migration step, DateTimeOffset appliedAt)
            {
                if (step.Version == schema.Failing) throw new InvalidDataException($"step {step.Version} fails");
                schema.Log.Add($"apply {step.Version}");
                _staged.Add((step.Version, appliedAt));
            }

            public void Commit()
            {
                schema.Log.Add("commit");
                schema.Committed.AddRange(_staged);
                _done = true;
            }

            public void Dispose()
            {
                if (!_done) schema.Log.Add("end");
            }
        }
    }
}
