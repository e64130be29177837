namespace Scraper.Pipeline;

/// <summary>Why a rate-limit group stopped sending for a while.</summary>
internal enum PauseReason
{
    /// <summary>The exchange said <c>sec=0</c>, or counted more requests than we sent.</summary>
    RemainingExhausted,
    /// <summary>HTTP 429.</summary>
    RateLimited,
    /// <summary>HTTP 418: the IP is blocked, every group of it stops.</summary>
    Banned,
}
