using System.Collections;
using Scraper.Hosting;

ProcessMemory.Configure();

// A slice sends up to --rate requests at once; a fresh process must not queue their
// continuations behind the thread pool's slow thread injection (that delays requests unevenly).
ThreadPool.GetMinThreads(out var workers, out var io);
ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(io, 32));

var environment = new Dictionary<string, string>(StringComparer.Ordinal);
foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
{
    if (entry.Key is string key && entry.Value is string value) environment[key] = value;
}
return await ScraperApp.RunAsync(args, new ProgramContext(Console.Out, Console.Error, environment, TimeProvider.System, CancellationToken.None));
