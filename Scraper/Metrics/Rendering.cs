using System.IO.Compression;

namespace Scraper.Metrics;

/// <summary>One rendering of the registry, and its gzipped form made on first use.</summary>
internal sealed class Rendering(long renderedAt, ReadOnlyMemory<byte> body)
{
    private readonly Lazy<ReadOnlyMemory<byte>> _gzipped = new(() => Gzip(body), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>When it was rendered (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long RenderedAt { get; } = renderedAt;

    /// <summary>The exposition text.</summary>
    public ReadOnlyMemory<byte> Body { get; } = body;

    /// <summary>The text, gzipped.</summary>
    public ReadOnlyMemory<byte> Gzipped => _gzipped.Value;

    private static ReadOnlyMemory<byte> Gzip(ReadOnlyMemory<byte> body)
    {
        // The exposition text compresses to well under a sixth: one buffer, no doubling.
        var output = new MemoryStream(body.Length / 6 + 1024);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(body.Span);
        return new ReadOnlyMemory<byte>(output.GetBuffer(), 0, (int)output.Length);
    }
}
