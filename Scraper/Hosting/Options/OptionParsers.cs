using System.Globalization;
using System.Text.RegularExpressions;
using Scraper.Domain;
using Scraper.Storage.Postgres;

namespace Scraper.Hosting.Options;

/// <summary>The parse functions of the settings that need more than one line.</summary>
internal static partial class OptionParsers
{
    /// <summary>No history is asked for before this: older instants are typing errors, and would plan millions of windows.</summary>
    public static readonly DateTimeOffset EarliestSince = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// The accepted log levels, by name only. None is refused: a daemon that logs nothing would
    /// also hide its one Critical line (the database failing); Critical is the quietest level.
    /// </summary>
    private static readonly Microsoft.Extensions.Logging.LogLevel[] LogLevels =
    [
        Microsoft.Extensions.Logging.LogLevel.Trace, Microsoft.Extensions.Logging.LogLevel.Debug, Microsoft.Extensions.Logging.LogLevel.Information,
        Microsoft.Extensions.Logging.LogLevel.Warning, Microsoft.Extensions.Logging.LogLevel.Error, Microsoft.Extensions.Logging.LogLevel.Critical,
    ];

    /// <summary>The accepted levels as a phrase: "Trace, Debug, … or Critical".</summary>
    public static string LogLevelList => $"{string.Join(", ", LogLevels[..^1])} or {LogLevels[^1]}";

    [GeneratedRegex("^[A-Z0-9]{2,10}-[A-Z0-9]{1,20}$", RegexOptions.CultureInvariant)]
    private static partial Regex MarketPattern();

    public static Uri HttpUrl(OptionValue value)
    {
        var text = value.Text;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(url.Query))
            throw value.Error(text, "expected an http(s) base URL such as https://api.upbit.com");
        return url;
    }

    public static IReadOnlyList<string> Markets(OptionValue value)
    {
        var markets = value.Items.Select(m => m.Trim().ToUpperInvariant()).ToList();
        foreach (var market in markets)
        {
            if (!MarketPattern().IsMatch(market))
                throw value.Error(value.Raw, $"expected markets like KRW-BTC,BTC-ETH (QUOTE-BASE, letters and digits); '{SettingsLoader.Printable(market)}' is not one");
        }
        return markets.Count == 0 ? throw value.Error(value.Raw, "expected at least one market, e.g. KRW-BTC") : markets;
    }

    public static IReadOnlyList<CandleUnit> Units(OptionValue value)
    {
        var units = new List<CandleUnit>();
        foreach (var text in value.Items)
        {
            if (!CandleUnit.TryParse(text, out var unit))
                throw value.Error(text, "expected minute units 1,3,5,10,15,30,60,240 or day");
            if (!units.Contains(unit)) units.Add(unit);
        }
        return units;
    }

    public static DateTimeOffset Instant(OptionValue value, string text, string expected) =>
        Durations.TryParseInstant(text, value.Now, out var instant) && instant >= EarliestSince ? instant : throw value.Error(text, expected);

    public static string Instance(OptionValue value)
    {
        var text = value.Text;
        return InstancePattern().IsMatch(text) ? text : throw value.Error(text, "expected a name of 1 to 100 letters, digits and . _ - : @, starting with a letter or digit, e.g. host-1");
    }

    /// <summary>An IP address of this host: one that a socket can be bound to.</summary>
    public static System.Net.IPAddress LocalAddress(OptionValue value)
    {
        var text = value.Text;
        // IPAddress.TryParse also takes "1" or "0x10" as IPv4: only the usual forms are addresses here.
        if (!(Ipv4Pattern().IsMatch(text) || (text.Contains(':', StringComparison.Ordinal) && !text.Contains('[', StringComparison.Ordinal))) || !System.Net.IPAddress.TryParse(text, out var address))
            throw value.Error(text, "expected an IP address of this host, e.g. 192.0.2.10 or 127.0.0.2");
        try
        {
            using var probe = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            probe.Bind(new System.Net.IPEndPoint(address, 0));
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw value.Error(text, $"not an address of this host ({e.Message}); expected one that `ip address` lists");
        }
        return address;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex InstancePattern();

    [GeneratedRegex(@"^[0-9]{1,3}(\.[0-9]{1,3}){3}$", RegexOptions.CultureInvariant)]
    private static partial Regex Ipv4Pattern();

    public static int Rate(OptionValue value)
    {
        var text = value.Text;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var rate) && rate is >= 1 and <= 1000
            ? rate
            : throw value.Error(text, "expected a whole number of requests per second from 1 to 1000");
    }

    public static int Reserve(OptionValue value)
    {
        var text = value.Text;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var reserve) && reserve is >= 0 and <= 5
            ? reserve
            : throw value.Error(text, "expected a whole number of places from 0 to 5");
    }

    public static TimeSpan Duration(OptionValue value, TimeSpan min, TimeSpan max)
    {
        var text = value.Text;
        if (!Durations.TryParseDuration(text, out var duration) || duration < min || duration > max)
            throw value.Error(text, $"expected a duration from {Show(min)} to {Show(max)} such as 500ms, 1s, 2m");
        return duration;
    }

    public static Microsoft.Extensions.Logging.LogLevel LogLevel(OptionValue value)
    {
        var text = value.Text;
        var level = LogLevels.FirstOrDefault(l => l.ToString().Equals(text.Trim(), StringComparison.OrdinalIgnoreCase), Microsoft.Extensions.Logging.LogLevel.None);
        return level == Microsoft.Extensions.Logging.LogLevel.None ? throw value.Error(text, $"expected {LogLevelList}") : level;
    }

    /// <summary>The default SQLite file is the systemd state directory's, else ./data.</summary>
    public static DatabaseLocation Database(OptionValue value)
    {
        var path = value.IsSet ? value.Text
            : value.Environment.TryGetValue("STATE_DIRECTORY", out var state) && state.Length > 0 ? Path.Combine(state.Split(':')[0], "candles.db")
            : Path.Combine("data", "candles.db");
        var postgres = PostgresConnectionSettings.IsPostgres(path);
        return new DatabaseLocation(path, postgres ? path : value.FullPath(path), postgres);
    }

    /// <summary>A key given as a value: trimmed, not empty; null when not configured.</summary>
    public static string? Key(OptionValue value)
    {
        if (!value.IsSet) return null;
        var key = value.Text.Trim();
        return key.Length == 0 ? throw value.Error("(empty)", "expected a non-empty key") : key;
    }

    /// <summary>A key read from the configured file: its trimmed content; null when no file is configured.</summary>
    public static string? KeyFile(OptionValue value)
    {
        if (!value.IsSet) return null;
        var file = value.Text;
        value.FullPath(file);
        string text;
        try
        {
            text = File.ReadAllText(file).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw value.Error(file, $"expected a readable file holding the key ({SettingsLoader.FirstLine(e.Message)})");
        }
        return text.Length == 0 ? throw value.Error(file, "expected the file to hold the key, but it is empty") : text;
    }

    private static string Show(TimeSpan t) =>
        t < TimeSpan.FromSeconds(1) ? $"{t.TotalMilliseconds:0}ms" : t < TimeSpan.FromMinutes(1) ? $"{t.TotalSeconds:0}s" : t < TimeSpan.FromHours(1) ? $"{t.TotalMinutes:0}m" : $"{t.TotalHours:0}h";
}
