using Scraper.Domain;

namespace Scraper.Storage.Copy;

/// <summary>
/// Copies every series of one store into another: candles and coverage, block by block (see
/// <see cref="CopyPlan"/>), each block one transaction of the target carrying its coverage. The
/// next block is read from the source while the current one is written.
/// </summary>
internal sealed class StoreCopy(ICandleStore source, ICandleStore target, ICandleBulkWriter writer)
{
    /// <summary>Intervals per block: big enough for the bulk path to pay off, small enough to lose little when stopped.</summary>
    public int BlockIntervals { get; init; } = 50_000;

    /// <summary>Plans the whole copy: the blocks of every series of the source and the candles in them.</summary>
    public (IReadOnlyList<CopyBlock> Blocks, long Candles) Plan()
    {
        var blocks = new List<CopyBlock>();
        foreach (var series in source.ListSeries())
        {
            var oldest = source.ReadCandles(series).Select(c => (DateTimeOffset?)c.StartUtc).FirstOrDefault();
            var newest = source.NewestCandleStart(series);
            TimeRange? candles = oldest is { } o && newest is { } n ? new TimeRange(o, n + series.Unit.Interval) : null;
            blocks.AddRange(CopyPlan.For(series, source.GetCoverage(series), target.GetCoverage(series), candles,
                series.Unit.Interval * BlockIntervals));
        }
        var total = blocks.Sum(b => source.CountCandles(b.Series, b.Range.Start, b.Range.End));
        return (blocks, total);
    }

    /// <summary>
    /// Writes the planned blocks in order until done or <paramref name="stop"/> is cancelled (between
    /// blocks: a block is written whole or not at all). <paramref name="progress"/> is told after each block.
    /// </summary>
    public async Task<CopySummary> RunAsync(IReadOnlyList<CopyBlock> blocks, long total, Action<CopyProgress> progress, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        ArgumentNullException.ThrowIfNull(progress);
        long done = 0;
        var written = 0;
        progress(new CopyProgress(0, total, 0, blocks.Count, blocks.Count > 0 ? blocks[0].Series : null));
        Task<List<Candle>>? next = blocks.Count > 0 ? Read(blocks[0]) : null;
        for (var i = 0; i < blocks.Count; i++)
        {
            var candles = await next!;
            next = null;
            if (stop.IsCancellationRequested) break;
            if (i + 1 < blocks.Count) next = Read(blocks[i + 1]);
            var block = blocks[i];
            try
            {
                if (candles.Count > 0 || block.Covered)
                    await Task.Run(() => writer.Write(block.Series, candles, block.Covered ? block.Range : null), CancellationToken.None);
            }
            catch
            {
                if (next is not null) await next.ContinueWith(_ => { }, TaskScheduler.Default);
                throw;
            }
            done += candles.Count;
            written++;
            progress(new CopyProgress(done, Math.Max(total, done), written, blocks.Count, i + 1 < blocks.Count ? blocks[i + 1].Series : null));
        }
        if (next is not null) await next.ContinueWith(_ => { }, TaskScheduler.Default);
        return new CopySummary(blocks.Select(b => b.Series).Distinct().Count(), written, done, written < blocks.Count);
    }

    private Task<List<Candle>> Read(CopyBlock block) =>
        Task.Run(() => source.ReadCandles(block.Series, block.Range.Start, block.Range.End).ToList());
}
