namespace Scraper.Pipeline;

/// <summary>
/// Where the pipeline reports what happens. The pipeline only reports; listeners (the metrics,
/// for one) decide what each event means to them. Called synchronously on the thread of the
/// event, possibly from several threads at once.
/// </summary>
internal interface IPipelineTelemetry
{
    /// <summary>Reports one event.</summary>
    void Report(PipelineEvent e);
}
