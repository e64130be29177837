using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using NLog;
using NLog.Config;
using NLog.Extensions.Logging;
using NLog.Layouts;
using NLog.Targets;
using MsLogLevel = Microsoft.Extensions.Logging.LogLevel;
using NLogLevel = NLog.LogLevel;

namespace Scraper.Hosting;

/// <summary>
/// NLog behind Microsoft.Extensions.Logging, configured in code. Logs go to stderr (stdout carries
/// exported data). Under systemd (JOURNAL_STREAM or INVOCATION_ID set) every record is ONE line
/// starting with its syslog priority (&lt;3&gt; error, &lt;4&gt; warning, &lt;6&gt; info, &lt;7&gt; debug) and no
/// timestamp, which journald turns into PRIORITY so <c>journalctl -p warning</c> works; in a
/// terminal a line carries the UTC time and the level.
/// </summary>
internal static class Logging
{
    /// <summary>True when the process runs under systemd and stderr goes to the journal.</summary>
    public static bool UnderSystemd(IReadOnlyDictionary<string, string> environment) =>
        environment.ContainsKey("JOURNAL_STREAM") || environment.ContainsKey("INVOCATION_ID");

    /// <summary>The NLog configuration for the given mode.</summary>
    public static LoggingConfiguration Configuration(MsLogLevel minimum, bool journal)
    {
        var target = new ConsoleTarget("stderr")
        {
            StdErr = true,
            AutoFlush = true,
            Layout = Layout.FromMethod(e => journal ? JournalLine(e) : TerminalLine(e), LayoutRenderOptions.ThreadAgnostic),
        };
        var config = new LoggingConfiguration();
        config.AddRule(ToNLog(minimum), NLogLevel.Fatal, target);
        return config;
    }

    /// <summary>Adds NLog to a logging builder, replacing other providers.</summary>
    public static void AddScraperLogging(this ILoggingBuilder builder, MsLogLevel minimum, bool journal)
    {
        builder.ClearProviders();
        builder.SetMinimumLevel(minimum);
        // The host's own chatter ("Application started", content root) is debug noise for a daemon.
        builder.AddFilter("Microsoft", minimum > MsLogLevel.Warning ? minimum : MsLogLevel.Warning);
        builder.AddNLog(Configuration(minimum, journal), new NLogProviderOptions { RemoveLoggerFactoryFilter = false });
    }

    /// <summary>A logger factory for the one-shot verbs.</summary>
    public static ILoggerFactory CreateFactory(MsLogLevel minimum, bool journal) =>
        LoggerFactory.Create(b => b.AddScraperLogging(minimum, journal));

    /// <summary>The syslog priority of a level.</summary>
    public static int SyslogPriority(NLogLevel level) =>
        level == NLogLevel.Fatal ? 2
        : level == NLogLevel.Error ? 3
        : level == NLogLevel.Warn ? 4
        : level == NLogLevel.Info ? 6
        : 7;

    internal static string JournalLine(LogEventInfo e) =>
        $"<{SyslogPriority(e.Level)}>{ShortName(e.LoggerName)}: {OneLine(Body(e))}";

    internal static string TerminalLine(LogEventInfo e) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{e.TimeStamp.ToUniversalTime():yyyy-MM-dd HH:mm:ss.fff}Z {e.Level.Name.ToUpperInvariant(),-5} {ShortName(e.LoggerName)}: {Body(e)}");

    private static string Body(LogEventInfo e) =>
        e.Exception is null ? e.FormattedMessage : $"{e.FormattedMessage} {e.Exception}";

    private static string ShortName(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "main";
        var dot = name.LastIndexOf('.');
        return dot < 0 ? name : name[(dot + 1)..];
    }

    /// <summary>Folds a multi-line text into one journal record.</summary>
    private static string OneLine(string text)
    {
        if (text.IndexOfAny(['\r', '\n']) < 0) return text;
        var sb = new StringBuilder(text.Length);
        foreach (var line in text.Split('\n'))
        {
            var trimmed = line.TrimEnd('\r').Trim();
            if (trimmed.Length == 0) continue;
            if (sb.Length > 0) sb.Append(" | ");
            sb.Append(trimmed);
        }
        return sb.ToString();
    }

    private static NLogLevel ToNLog(MsLogLevel level) => level switch
    {
        MsLogLevel.Trace => NLogLevel.Trace,
        MsLogLevel.Debug => NLogLevel.Debug,
        MsLogLevel.Information => NLogLevel.Info,
        MsLogLevel.Warning => NLogLevel.Warn,
        MsLogLevel.Error => NLogLevel.Error,
        _ => NLogLevel.Fatal,
    };
}
