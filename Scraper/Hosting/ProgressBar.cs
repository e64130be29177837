using Spectre.Console;

namespace Scraper.Hosting;

/// <summary>The terminal progress bar of the long verbs (backfill, copy): redrawn every 200 ms until the work ends.</summary>
internal static class ProgressBar
{
    /// <summary>
    /// Draws one bar named <paramref name="name"/> until <paramref name="run"/> ends; <paramref name="read"/>
    /// gives the current ratio (0..1) and description, or null while there is nothing to show yet.
    /// </summary>
    public static async Task ShowAsync(string name, Task run, Func<(double Ratio, string Description)?> read, TimeProvider time, bool fillAtEnd = true)
    {
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(name, maxValue: 1.0);
                while (!run.IsCompleted)
                {
                    if (read() is { } now) (task.Value, task.Description) = now;
                    await Task.WhenAny(run, Task.Delay(TimeSpan.FromMilliseconds(200), time));
                }
                if (fillAtEnd) task.Value = task.MaxValue;
                else if (read() is { } last) task.Value = last.Ratio;
            });
    }
}
