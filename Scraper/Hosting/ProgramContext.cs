namespace Scraper.Hosting;

/// <summary>What a run of the program may touch: streams, environment, clock, cancellation.</summary>
internal sealed record ProgramContext(
    TextWriter Out,
    TextWriter Error,
    IReadOnlyDictionary<string, string> Environment,
    TimeProvider Time,
    CancellationToken Stop);
