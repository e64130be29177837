using Scraper.Storage;

namespace Scraper.Tests.Fleet;

/// <summary>Fleet events that count only the leases dropped (their period ran out without a renewal), per kind.</summary>
internal sealed class DroppedLeases : IFleetEvents
{
    private int _windows;
    private int _follow;

    public int Windows => Volatile.Read(ref _windows);

    public int Follow => Volatile.Read(ref _follow);

    public void LeasesDropped(LeaseKind kind, int leases)
    {
        if (kind == LeaseKind.Follow) Interlocked.Add(ref _follow, leases);
        else Interlocked.Add(ref _windows, leases);
    }

    public void Claimed(LeaseKind kind, int leases, int takenOver) { }
    public void RenewalFailed(LeaseKind kind, int leases) { }
    public void WindowsClaimed(int windows, bool takenOver) { }
    public void WindowsCompleted(int windows) { }
    public void Pending(int chunks) { }
    public void Members(int count) { }
    public void DatabaseCall(TimeSpan elapsed, bool failed) { }
}
