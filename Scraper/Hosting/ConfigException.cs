namespace Scraper.Hosting;

/// <summary>
/// A configuration error: one line naming the option, the bad value and what is expected.
/// The process exits with <see cref="ExitCodes.Config"/> before anything is fetched or written.
/// </summary>
internal sealed class ConfigException(string message) : Exception(message);

