using Microsoft.Extensions.Logging;
using Scraper.Domain;

namespace Scraper.Pipeline;

/// <summary>
/// Progress of one pass over the wanted range: share covered per series, candles per second, ETA.
/// Updated from the results as they are stored; read by the progress log line, the telemetry and the
/// terminal progress bar.
/// </summary>
internal sealed partial class BackfillProgress
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly IPipelineTelemetry _telemetry;
    private readonly Dictionary<SeriesKey, SeriesState> _series = new();
    private readonly long _started; // monotonic: a wall-clock step must not bend the rate or the ETA
    private long _candles;
    private int _windowsDone;
    private int _windowsTotal;

    /// <summary>Starts tracking: <paramref name="plan"/> holds, per series, the wanted range and the windows still to fetch.</summary>
    public BackfillProgress(IReadOnlyDictionary<SeriesKey, (TimeRange Wanted, TimeSpan Missing, int Windows)> plan, IPipelineTelemetry telemetry, TimeProvider time)
    {
        _time = time;
        _telemetry = telemetry;
        _started = time.GetTimestamp();
        foreach (var (series, (wanted, missing, windows)) in plan)
        {
            _series[series] = new SeriesState(wanted, missing, windows);
            _windowsTotal += windows;
        }
        Publish();
    }

    /// <summary>Windows planned in this pass.</summary>
    public int WindowsTotal => _windowsTotal;

    /// <summary>Windows finished (fetched or skipped).</summary>
    public int WindowsDone { get { lock (_gate) return _windowsDone; } }

    /// <summary>Share of all wanted ranges that is covered (0..1).</summary>
    public double Ratio
    {
        get
        {
            lock (_gate)
            {
                var wanted = _series.Values.Sum(s => s.Wanted.End.Ticks - s.Wanted.Start.Ticks);
                var missing = _series.Values.Sum(s => Math.Max(0, s.Missing.Ticks));
                return wanted <= 0 ? 1 : 1 - (double)missing / wanted;
            }
        }
    }

    /// <summary>Candles stored per second since the pass began.</summary>
    public double CandlesPerSecond
    {
        get
        {
            lock (_gate)
            {
                var elapsed = _time.GetElapsedTime(_started).TotalSeconds;
                return elapsed <= 0 ? 0 : _candles / elapsed;
            }
        }
    }

    /// <summary>Estimated time left, from the pace of finished windows; null before the first.</summary>
    public TimeSpan? Eta
    {
        get
        {
            lock (_gate)
            {
                if (_windowsDone == 0) return null;
                var elapsed = _time.GetElapsedTime(_started);
                return elapsed * ((double)(_windowsTotal - _windowsDone) / _windowsDone);
            }
        }
    }

    /// <summary>Accounts for one finished window.</summary>
    public void Add(WindowResult result, int candlesWritten)
    {
        lock (_gate)
        {
            _windowsDone++;
            _candles += candlesWritten;
            if (_series.TryGetValue(result.Window.Series, out var state))
            {
                state.WindowsLeft--;
                if (result.Fetched) state.Missing -= result.Window.End - result.Window.Start;
            }
        }
    }

    /// <summary>Reports the progress and ETA of every series.</summary>
    public void Publish()
    {
        lock (_gate)
        {
            var eta = Eta;
            foreach (var (series, state) in _series)
            {
                var wanted = (state.Wanted.End - state.Wanted.Start).Ticks;
                var ratio = wanted <= 0 ? 1 : Math.Clamp(1 - (double)Math.Max(0, state.Missing.Ticks) / wanted, 0, 1);
                _telemetry.Report(new PipelineEvent.PassProgress(series, ratio, state.WindowsLeft <= 0 ? 0 : eta?.TotalSeconds ?? -1));
            }
        }
    }

    /// <summary>Writes the progress log line.</summary>
    public void Log(ILogger logger)
    {
        var eta = Eta;
        LogProgress(logger, Ratio * 100, WindowsDone, WindowsTotal, CandlesPerSecond, eta is { } e ? e.ToString(@"hh\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture) : "unknown");
    }

    private sealed class SeriesState(TimeRange wanted, TimeSpan missing, int windows)
    {
        public TimeRange Wanted { get; } = wanted;
        public TimeSpan Missing { get; set; } = missing;
        public int WindowsLeft { get; set; } = windows;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "backfill {Percent:0.0}% ({Done}/{Total} windows), {Rate:0} candles/s, ETA {Eta}")]
    private static partial void LogProgress(ILogger logger, double percent, int done, int total, double rate, string eta);
}
