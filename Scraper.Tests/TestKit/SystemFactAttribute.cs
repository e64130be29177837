namespace Scraper.Tests.TestKit;

/// <summary>
/// A test that needs parts of the machine: root, and programs from Debian's packages. Where one is
/// missing the test reports Skipped with what is missing and how to get it, never Passed.
/// <c>./build.sh test</c> installs the packages when it runs as root.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SystemFactAttribute(params string[] programs) : FactAttribute
{
    private string? _skip;

    /// <summary>The test needs root (mounts, loop devices, containers).</summary>
    public bool Root { get; set; }

    /// <summary>An environment variable that, set to 1, skips the test (a quick local run).</summary>
    public string? SkipVariable { get; set; }

    /// <inheritdoc />
    public override string? Skip
    {
        get => _skip ?? SystemRequirements.Missing(programs, Root, SkipVariable);
        set => _skip = value;
    }
}

/// <summary>The same for a theory.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SystemTheoryAttribute(params string[] programs) : TheoryAttribute
{
    private string? _skip;

    /// <inheritdoc />
    public override string? Skip
    {
        get => _skip ?? SystemRequirements.Missing(programs, root: false, skipVariable: null);
        set => _skip = value;
    }
}
