using Prometheus;

namespace Scraper.Metrics;

/// <summary>
/// The registry rendered at most once per <see cref="MaxAge"/> and format, by one scrape while
/// the others wait for its result: a crowd of scrapers costs the collector one rendering, not one
/// each. The gzipped form is made once per rendering, when first asked for.
/// </summary>
internal sealed class MetricsRenderCache(CollectorRegistry registry, TimeProvider time) : IDisposable
{
    /// <summary>How old a rendering may be when it is served again.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMilliseconds(100);

    private readonly Slot _text = new(ExpositionFormat.PrometheusText);
    private readonly Slot _openMetrics = new(ExpositionFormat.OpenMetricsText);

    /// <summary>Rendering calls so far (both formats).</summary>
    public int Renders => Volatile.Read(ref _renders);

    private int _renders;

    /// <summary>A rendering of <paramref name="format"/> no older than <see cref="MaxAge"/>.</summary>
    public async Task<Rendering> GetAsync(ExpositionFormat format, CancellationToken cancellationToken)
    {
        var slot = format == ExpositionFormat.OpenMetricsText ? _openMetrics : _text;
        if (Fresh(slot) is { } cached) return cached;
        await slot.Gate.WaitAsync(cancellationToken);
        try
        {
            if (Fresh(slot) is { } rendered) return rendered; // another scrape rendered it meanwhile
            // Sized from the last rendering, and served without a copy: with thousands of series the
            // text is over a megabyte, and a growing stream would leave its doubled buffers as garbage.
            using var buffer = new MemoryStream(slot.Latest is { } last ? last.Body.Length + last.Body.Length / 16 : 0);
            // Not the scrape's token: a scraper hanging up must not waste a rendering the others wait for.
            await registry.CollectAndExportAsTextAsync(buffer, slot.Format, CancellationToken.None);
            Interlocked.Increment(ref _renders);
            var rendering = new Rendering(time.GetTimestamp(), new ReadOnlyMemory<byte>(buffer.GetBuffer(), 0, (int)buffer.Length));
            slot.Latest = rendering;
            return rendering;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    private Rendering? Fresh(Slot slot) => slot.Latest is { } r && time.GetElapsedTime(r.RenderedAt) < MaxAge ? r : null;

    /// <inheritdoc />
    public void Dispose()
    {
        _text.Gate.Dispose();
        _openMetrics.Gate.Dispose();
    }

    private sealed class Slot(ExpositionFormat format)
    {
        public ExpositionFormat Format { get; } = format;
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public volatile Rendering? Latest;
    }
}

