namespace Scraper.Tests.Integration;

/// <summary>
/// Real time plus an offset the test moves forward: time flows as usual (the daemon's rate
/// limiter and the fake's latency stay real), and <see cref="Jump"/> lets a candle close now
/// instead of up to a minute later. Timers are due at clock instants, so a jump fires every timer
/// it passes, as a real minute going by would.
/// </summary>
public sealed class JumpClock : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<JumpTimer> _timers = [];
    private TimeSpan _offset;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate) return System.GetUtcNow() + _offset;
    }

    /// <summary>Moves the clock forward by <paramref name="by"/>; timers now due fire at once.</summary>
    public void Jump(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        List<JumpTimer> timers;
        lock (_gate)
        {
            _offset += by;
            timers = [.. _timers];
        }
        foreach (var t in timers) t.Arm();
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new JumpTimer(this, callback, state);
        lock (_gate) _timers.Add(timer);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class JumpTimer : ITimer
    {
        private readonly JumpClock _clock;
        private readonly TimerCallback _callback;
        private readonly object? _state;
        private readonly Timer _timer;
        private readonly object _gate = new();
        private DateTimeOffset? _due;
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public JumpTimer(JumpClock clock, TimerCallback callback, object? state)
        {
            _clock = clock;
            _callback = callback;
            _state = state;
            _timer = new Timer(_ => Fire(), null, Timeout.Infinite, Timeout.Infinite);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (_gate)
            {
                _period = period;
                _due = dueTime == Timeout.InfiniteTimeSpan ? null : _clock.GetUtcNow() + dueTime;
            }
            Arm();
            return true;
        }

        public void Arm()
        {
            lock (_gate)
            {
                if (_due is not { } due)
                {
                    _timer.Change(Timeout.Infinite, Timeout.Infinite);
                    return;
                }
                var left = due - _clock.GetUtcNow();
                _timer.Change(left < TimeSpan.Zero ? TimeSpan.Zero : left, Timeout.InfiniteTimeSpan);
            }
        }

        private void Fire()
        {
            bool due;
            lock (_gate)
            {
                // A jump can re-arm the real timer while it is already firing for the old due time.
                due = _due is { } at && at <= _clock.GetUtcNow() + TimeSpan.FromMilliseconds(1);
                if (due) _due = _period == Timeout.InfiniteTimeSpan || _period == TimeSpan.Zero ? null : _due + _period;
            }
            Arm();
            if (due) _callback(_state);
        }

        public void Dispose()
        {
            lock (_clock._gate) _clock._timers.Remove(this);
            _timer.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
