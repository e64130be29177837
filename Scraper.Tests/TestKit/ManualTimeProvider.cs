namespace Scraper.Tests.TestKit;

/// <summary>
/// A wall clock the test sets by hand, while durations and timers stay real. For code that runs
/// real machinery on the clock (the in-process daemon's HTTP request timeouts, PostgreSQL's retry
/// waits): FakeTimeProvider would freeze those timers, and fire them all when the test moves the
/// wall clock. Where nothing waits on the clock, use FakeTimeProvider.
/// </summary>
public sealed class ManualTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
