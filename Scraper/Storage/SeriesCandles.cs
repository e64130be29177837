using Scraper.Domain;

namespace Scraper.Storage;

/// <summary>Candles of one series, as <see cref="ICandleStore.SaveUncovered"/> takes them: each must be of <paramref name="Series"/>.</summary>
internal sealed record SeriesCandles(SeriesKey Series, IReadOnlyList<Candle> Candles);
