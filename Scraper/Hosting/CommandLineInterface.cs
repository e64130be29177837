using System.CommandLine;
using Scraper.Hosting.Options;

namespace Scraper.Hosting;

/// <summary>
/// The public command line: <c>bitcoin-price-scraper [run|backfill|verify|export|copy] [options]</c>,
/// defined with System.CommandLine (help, version, parse errors). The setting options come from
/// <see cref="SettingOptions.All"/>; each maps to its configuration key, so the JSON file and
/// SCRAPER_* variables accept it too.
/// </summary>
internal sealed class CommandLineInterface
{
    private readonly RootCommand _root;
    private readonly Option<string> _config = new(OptionTable.ConfigFlag) { Description = $"{OptionTable.ConfigHelp}. Also {OptionTable.ConfigEnvironment}.", HelpName = "FILE", Recursive = true };
    private readonly Dictionary<string, Option<string>> _settings = new(StringComparer.Ordinal);
    private readonly Option<string> _market = new("--market") { Description = "Market to export, e.g. KRW-BTC.", HelpName = "M" };
    private readonly Option<string> _unit = new("--unit") { Description = "Unit to export: 1,3,5,10,15,30,60,240 or day.", HelpName = "U" };
    private readonly Option<string> _from = new("--from") { Description = "First candle start to export (ISO or age such as 7d).", HelpName = "T" };
    private readonly Option<string> _to = new("--to") { Description = "Export candles starting before this (ISO or age).", HelpName = "T" };
    private readonly Option<string> _format = new("--format") { Description = "csv or jsonl.", HelpName = "csv|jsonl", DefaultValueFactory = _ => "csv" };
    private readonly Option<string> _copyFrom = new("--from") { Description = "The store to copy from: an SQLite file or a PostgreSQL database (as --db).", HelpName = "PATH|URL" };
    private readonly Option<string> _copyTo = new("--to") { Description = "The store to copy into: a PostgreSQL database or an SQLite file (as --db).", HelpName = "URL|PATH" };
    private readonly Dictionary<Command, Verb> _verbs = new();
    private readonly HashSet<System.CommandLine.Invocation.CommandLineAction> _verbActions = [];

    /// <summary>Builds the command tree.</summary>
    public CommandLineInterface()
    {
        _root = new RootCommand("Collects Upbit candles into SQLite without gaps and exports Prometheus metrics.");
        _root.Options.Add(_config);
        foreach (var setting in SettingOptions.All)
        {
            var option = new Option<string>(setting.Flag) { Description = setting.Description, HelpName = setting.HelpName, Recursive = true };
            _settings[setting.Key] = option;
            _root.Options.Add(option);
        }
        var run = new Command("run", "The daemon (default): backfill the range, then follow every closed candle; serve /metrics.");
        var backfill = new Command("backfill", "Fetch the configured range once and exit 0 when it is complete.");
        var verify = new Command("verify", "Print covered ranges, candle counts and gaps per market and unit; exit 1 on a gap.");
        var export = new Command("export", "Write stored candles to stdout as CSV or JSON lines.");
        foreach (var option in new[] { _market, _unit, _from, _to, _format }) export.Options.Add(option);
        var copy = new Command("copy", "Copy candles and coverage from one store into another (SQLite to PostgreSQL); a rerun continues where a stopped one ended.");
        copy.Options.Add(_copyFrom);
        copy.Options.Add(_copyTo);
        foreach (var (command, verb) in new[] { ((Command)_root, Verb.Run), (run, Verb.Run), (backfill, Verb.Backfill), (verify, Verb.Verify), (export, Verb.Export), (copy, Verb.Copy) })
        {
            command.SetAction(_ => ExitCodes.Ok);
            _verbActions.Add(command.Action!);
            if (command == _root) continue;
            _root.Subcommands.Add(command);
            _verbs[command] = verb;
        }
    }

    /// <summary>
    /// Parses <paramref name="args"/>. Returns the request, or null after printing help/version
    /// (exit code in <paramref name="exitCode"/>). Throws <see cref="ConfigException"/> on a parse error.
    /// </summary>
    public CommandLineRequest? Parse(string[] args, TextWriter output, out int exitCode)
    {
        exitCode = ExitCodes.Ok;
        var result = _root.Parse(args);
        // Verbs carry a no-op action (the caller runs them); any other action is help or version.
        if (result.Errors.Count == 0 && result.Action is { } action && !_verbActions.Contains(action))
        {
            exitCode = result.Invoke(new InvocationConfiguration { Output = output, EnableDefaultExceptionHandler = false });
            return null;
        }
        if (result.Errors.Count > 0)
            throw new ConfigException($"invalid command line: {result.Errors[0].Message} (see --help)");

        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, option) in _settings)
        {
            if (result.GetResult(option) is { Implicit: false } && result.GetValue(option) is { } value) settings[key] = value;
        }
        var verb = _verbs.GetValueOrDefault(result.CommandResult.Command, Verb.Run);
        ExportRequest? export = verb == Verb.Export
            ? new ExportRequest(result.GetValue(_market), result.GetValue(_unit), result.GetValue(_from), result.GetValue(_to), result.GetValue(_format) ?? "csv")
            : null;
        var copyRequest = verb == Verb.Copy ? new CopyRequest(result.GetValue(_copyFrom), result.GetValue(_copyTo)) : null;
        return new CommandLineRequest(verb, result.GetValue(_config), settings, export, copyRequest);
    }
}
