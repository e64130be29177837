using System.Collections;
using Scraper.Hosting;

var environment = new Dictionary<string, string>(StringComparer.Ordinal);
foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
{
    if (entry.Key is string key && entry.Value is string value) environment[key] = value;
}
return await ScraperApp.RunAsync(args, new Scraper.Hosting.AppContext(Console.Out, Console.Error, environment, TimeProvider.System, CancellationToken.None));
