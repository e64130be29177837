namespace Scraper.Exchange;

// Placeholder until the client branch lands.
public sealed record UpbitClientOptions
{
    public required Uri BaseUrl { get; init; }
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public long MaxResponseBytes { get; init; } = 4 * 1024 * 1024;
    public UpbitCredentials? Credentials { get; init; }
    public string UserAgent { get; init; } = "bitcoin-price-scraper";
}

public sealed record UpbitCredentials(string AccessKey, string SecretKey)
{
    public override string ToString() => "UpbitCredentials { (redacted) }";
}
