using System.IO.Compression;

namespace Scraper.Metrics;

/// <summary>One rendering of the registry, and its gzipped form made on first use.</summary>
internal sealed class Rendering(long renderedAt, byte[] body)
{
    private readonly Lazy<byte[]> _gzipped = new(() => Gzip(body), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>When it was rendered (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long RenderedAt { get; } = renderedAt;

    /// <summary>The exposition text.</summary>
    public byte[] Body { get; } = body;

    /// <summary>The text, gzipped.</summary>
    public byte[] Gzipped => _gzipped.Value;

    private static byte[] Gzip(byte[] body)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(body);
        return output.ToArray();
    }
}
