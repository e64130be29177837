namespace Scraper.Pipeline;

/// <summary>What <see cref="IpBlock.Admit"/> allows.</summary>
internal enum Admission
{
    Open,
    Probe,
    Closed,
}
