using Microsoft.Extensions.Time.Testing;
using Scraper.Exchange;

namespace Scraper.Tests.Exchange;

/// <summary>
/// The connection stream's timing of one request on a fake clock: the time a write spends before it
/// returns (a cold process's JIT, a preempted thread) is in the round trip and told apart as
/// <see cref="WireTiming.Writing"/>, however the write completes.
/// </summary>
public sealed class WireTimingStreamTests
{
    private static readonly TimeSpan InWrite = TimeSpan.FromMilliseconds(40);
    private static readonly TimeSpan Exchange = TimeSpan.FromMilliseconds(15);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task A_write_that_completes_at_once_left_when_it_returned()
    {
        var inner = new ScriptedStream { OnWrite = () => _time.Advance(InWrite) };
        await using var stream = new WireTimingStream(inner);
        var timer = WireTimer.Start(_time);

        await stream.WriteAsync(new byte[] { 1 });
        _time.Advance(Exchange);
        Assert.Equal(1, await stream.ReadAsync(new byte[8]));

        Assert.Equal(new WireTiming(InWrite + Exchange, TimeSpan.Zero, InWrite), timer.Measure());
        Assert.Equal(Exchange, timer.Measure()!.AfterLeaving);
    }

    [Fact]
    public async Task A_write_that_completes_later_left_when_it_completed()
    {
        var pending = new TaskCompletionSource();
        var inner = new ScriptedStream { Pending = pending.Task };
        await using var stream = new WireTimingStream(inner);
        var timer = WireTimer.Start(_time);

        var write = stream.WriteAsync(new byte[] { 1 });
        Assert.False(write.IsCompleted);
        _time.Advance(InWrite);
        pending.SetResult();
        await write;
        _time.Advance(Exchange);
        Assert.Equal(1, await stream.ReadAsync(new byte[8]));

        Assert.Equal(InWrite, timer.Measure()!.Writing);
    }

    [Fact]
    public void A_synchronous_write_left_when_it_returned()
    {
        var inner = new ScriptedStream { OnWrite = () => _time.Advance(InWrite) };
        using var stream = new WireTimingStream(inner);
        var timer = WireTimer.Start(_time);

        stream.Write([1]);
        _time.Advance(Exchange);
        _ = stream.Read(new byte[8]);

        Assert.Equal(InWrite, timer.Measure()!.Writing);
    }

    [Fact]
    public async Task A_write_whose_return_came_after_the_answer_is_taken_to_have_left_at_the_answer()
    {
        var pending = new TaskCompletionSource();
        var inner = new ScriptedStream { Pending = pending.Task };
        await using var stream = new WireTimingStream(inner);
        var timer = WireTimer.Start(_time);

        var write = stream.WriteAsync(new byte[] { 1 });
        _time.Advance(Exchange);
        Assert.Equal(1, await stream.ReadAsync(new byte[8]));
        _time.Advance(InWrite);
        pending.SetResult();
        await write;

        var timing = timer.Measure()!;
        Assert.Equal(Exchange, timing.RoundTrip);
        Assert.Equal(TimeSpan.Zero, timing.AfterLeaving);
    }

    [Fact]
    public async Task A_request_not_on_a_timed_flow_is_passed_through_untimed()
    {
        var inner = new ScriptedStream();
        await using var stream = new WireTimingStream(inner);

        await stream.WriteAsync(new byte[] { 1, 2 });
        var read = await stream.ReadAsync(new byte[8]);

        Assert.Equal(2, inner.Written);
        Assert.Equal(1, read);
    }

    /// <summary>A connection whose writes run <see cref="OnWrite"/> or wait for <see cref="Pending"/>, and whose reads return one byte.</summary>
    private sealed class ScriptedStream : Stream
    {
        public Action? OnWrite { get; init; }
        public Task? Pending { get; init; }
        public int Written { get; private set; }

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => 1;
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            OnWrite?.Invoke();
            Written += count;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written += buffer.Length;
            if (Pending is { } pending) return new ValueTask(pending);
            OnWrite?.Invoke();
            return ValueTask.CompletedTask;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(1);
    }
}
