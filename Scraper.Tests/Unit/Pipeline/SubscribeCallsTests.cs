using System.Text;
using System.Text.RegularExpressions;

namespace Scraper.Tests.Pipeline;

/// <summary>
/// Every Rx subscription in the daemon handles errors: an exception that reaches a subscription
/// without onError is rethrown on the scheduler's thread and ends the process.
/// </summary>
/// <remarks>
/// How a call is judged: the source is read with comments, strings and char literals blanked out;
/// for each <c>.Subscribe(</c> the argument list is read up to its matching parenthesis and split
/// at top-level commas (commas inside (), [], {} or &lt;&gt; of a lambda or call do not count). A
/// call passes when one argument is named <c>onError:</c>, or when it has three arguments (the
/// only three-argument overload is onNext, onError, onCompleted). One or two positional arguments
/// fail: Subscribe(onNext) has no error handler and Subscribe(onNext, onCompleted) exists too, so
/// two arguments alone do not prove an onError.
/// </remarks>
public class SubscribeCallsTests
{
    [Fact]
    public void Every_Subscribe_in_Scraper_has_an_onError_handler()
    {
        var missing = new List<string>();
        var calls = 0;
        foreach (var file in Directory.EnumerateFiles(RepoPaths.Combine("Scraper"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ||
                file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) continue;
            var code = Blank(File.ReadAllText(file));
            foreach (var (line, args) in SubscribeCalls(code))
            {
                calls++;
                if (!HandlesErrors(args))
                    missing.Add($"{Path.GetRelativePath(RepoPaths.Root, file)}:{line}: .Subscribe({string.Join(", ", args.Select(Shorten))})");
            }
        }
        Assert.True(calls > 0, "no .Subscribe( call found: the scan reads the wrong folder");
        Assert.True(missing.Count == 0, "subscriptions without onError:\n" + string.Join("\n", missing));
    }

    [Theory]
    [InlineData("x.Subscribe(apply);", false)]
    [InlineData("x.Subscribe(p => Log(a, p));", false)]
    [InlineData("x.Subscribe(_ => { }, () => done());", false)]
    [InlineData("x.Subscribe(_ => { f(a, b); }, e => g(e), () => h());", true)]
    [InlineData("x.Subscribe(apply, onError: e => Log(e));", true)]
    [InlineData("x.Subscribe(onNext: v => F(v, new[] { 1, 2 }), onError: e => { });", true)]
    [InlineData("x.Subscribe(v => F(\"a, b\", ','), e => G(e), () => { /* , */ });", true)]
    [InlineData("x.Subscribe(v => F(Dictionary<int, int>.Empty), onCompleted: () => { });", false)]
    public void The_scan_judges_calls_by_their_arguments(string code, bool handles)
    {
        var calls = SubscribeCalls(Blank(code)).ToList();
        Assert.Single(calls);
        Assert.Equal(handles, HandlesErrors(calls[0].Args));
    }

    private static bool HandlesErrors(IReadOnlyList<string> args) =>
        args.Count == 3 || args.Any(a => Regex.IsMatch(a, @"^\s*onError\s*:"));

    private static string Shorten(string arg)
    {
        var flat = Regex.Replace(arg.Trim(), @"\s+", " ");
        return flat.Length > 40 ? flat[..40] + "…" : flat;
    }

    /// <summary>Line number and top-level arguments of every <c>.Subscribe(</c> call.</summary>
    private static IEnumerable<(int Line, IReadOnlyList<string> Args)> SubscribeCalls(string code)
    {
        foreach (Match m in Regex.Matches(code, @"\.\s*Subscribe\s*\("))
        {
            var args = new List<string>();
            var open = new Stack<char>();
            var current = new StringBuilder();
            for (var i = m.Index + m.Length; i < code.Length; i++)
            {
                var c = code[i];
                if (c is '(' or '[' or '{' || (c == '<' && IsGenericOpen(code, i))) open.Push(c);
                else if (c == '>' && open.TryPeek(out var top) && top == '<') open.Pop();
                else if (c is ')' or ']' or '}')
                {
                    if (open.Count == 0)
                    {
                        if (current.ToString().Trim().Length > 0 || args.Count > 0) args.Add(current.ToString());
                        break;
                    }
                    open.Pop();
                }
                else if (c == ',' && open.Count == 0)
                {
                    args.Add(current.ToString());
                    current.Clear();
                    continue;
                }
                current.Append(c);
            }
            yield return (code[..m.Index].Count(ch => ch == '\n') + 1, args);
        }
    }

    // A '<' opens a type argument list when an identifier precedes it and a matching '>' follows
    // before anything that cannot be in a type (operators, ';', '(').
    private static bool IsGenericOpen(string code, int i) =>
        i > 0 && (char.IsLetterOrDigit(code[i - 1]) || code[i - 1] == '_') &&
        Regex.IsMatch(code[(i + 1)..], @"^[\w\s,.?<>\[\]]*?>");

    /// <summary>The source with comments and string/char literal contents replaced by spaces (line breaks kept).</summary>
    private static string Blank(string code)
    {
        var s = new StringBuilder(code.Length);
        var i = 0;
        while (i < code.Length)
        {
            var c = code[i];
            if (c == '/' && i + 1 < code.Length && code[i + 1] == '/')
            {
                while (i < code.Length && code[i] != '\n') { s.Append(' '); i++; }
            }
            else if (c == '/' && i + 1 < code.Length && code[i + 1] == '*')
            {
                var end = code.IndexOf("*/", i + 2, StringComparison.Ordinal);
                end = end < 0 ? code.Length : end + 2;
                for (; i < end; i++) s.Append(code[i] == '\n' ? '\n' : ' ');
            }
            else if (c == '"' || c == '\'')
            {
                var verbatim = i > 0 && code[i - 1] == '@';
                var raw = c == '"' && code.AsSpan(i).StartsWith("\"\"\"");
                var quote = raw ? "\"\"\"" : c.ToString();
                s.Append(quote);
                i += quote.Length;
                while (i < code.Length && !code.AsSpan(i).StartsWith(quote))
                {
                    if (!verbatim && !raw && code[i] == '\\') { s.Append(' '); i++; }
                    if (i < code.Length) { s.Append(code[i] == '\n' ? '\n' : ' '); i++; }
                }
                s.Append(quote);
                i += quote.Length;
            }
            else { s.Append(c); i++; }
        }
        return s.ToString();
    }
}
