namespace Scraper.Exchange;

/// <summary>
/// A connection's plaintext stream that tells the <see cref="WireTimer"/> of the request writing on
/// it when a write begins and when it returned (the bytes have left), and that timer when the first
/// bytes of the answer arrive. Everything else passes straight through.
/// </summary>
internal sealed class WireTimingStream(Stream inner) : Stream
{
    private WireTimer? _waiting; // the request whose answer this connection waits for

    public override bool CanRead => inner.CanRead;
    public override bool CanWrite => inner.CanWrite;
    public override bool CanSeek => false;
    public override bool CanTimeout => inner.CanTimeout;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int ReadTimeout
    {
        get => inner.ReadTimeout;
        set => inner.ReadTimeout = value;
    }

    public override int WriteTimeout
    {
        get => inner.WriteTimeout;
        set => inner.WriteTimeout = value;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => Received(inner.Read(buffer));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Received(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var timer = Sending();
        inner.Write(buffer);
        timer?.Written();
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var timer = Sending();
        var write = inner.WriteAsync(buffer, cancellationToken);
        if (timer is null) return write;
        if (!write.IsCompletedSuccessfully) return WrittenAsync(write, timer);
        // The usual case: the socket took the bytes at once (a cold process may have spent long in the call).
        timer.Written();
        return write;
    }

    private static async ValueTask WrittenAsync(ValueTask write, WireTimer timer)
    {
        await write.ConfigureAwait(false);
        timer.Written();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private WireTimer? Sending()
    {
        if (WireTimer.Current is not { } timer) return null;
        timer.Writing();
        // Before the bytes leave: the answer's first read may come before the write returns.
        Volatile.Write(ref _waiting, timer);
        return timer;
    }

    private int Received(int read)
    {
        if (read > 0 && Interlocked.Exchange(ref _waiting, null) is { } timer) timer.Answered();
        return read;
    }
}
