namespace Scraper.Tests.TestKit;

/// <summary>A test against a real PostgreSQL server: Skipped, with the reason, where none can run.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PostgresFactAttribute : FactAttribute
{
    private string? _skip;

    /// <inheritdoc />
    public override string? Skip
    {
        get => _skip ?? PostgresServer.SkipReason;
        set => _skip = value;
    }
}
