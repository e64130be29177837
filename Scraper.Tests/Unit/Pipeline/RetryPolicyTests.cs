using Scraper.Exchange;
using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>The retry decision is a pure function of the outcome and the attempt state.</summary>
public class RetryPolicyTests
{
    private static readonly RetryPolicy Policy = new() { MaxAttempts = 3 };

    [Fact]
    public void A_page_with_candles_is_accepted_on_the_first_attempt()
    {
        Assert.Equal(new RetryDecision.Accept(new AttemptState(1, 0, false)), Policy.Decide(ExchangeOutcome.Success, emptyPage: false, AttemptState.First));
    }

    [Fact]
    public void An_empty_page_is_asked_once_more_after_the_first_back_off_then_accepted()
    {
        var first = Policy.Decide(ExchangeOutcome.Success, emptyPage: true, AttemptState.First);
        Assert.Equal(new RetryDecision.RetryAfter(new AttemptState(1, 0, true), TimeSpan.FromMilliseconds(250)), first);

        Assert.Equal(new RetryDecision.Accept(new AttemptState(2, 0, true)), Policy.Decide(ExchangeOutcome.Success, emptyPage: true, first.State));
    }

    [Fact]
    public void Transient_failures_back_off_exponentially_and_give_up_at_the_maximum()
    {
        var state = AttemptState.First;
        var decisions = new List<RetryDecision>();
        for (var i = 0; i < 3; i++)
        {
            var decision = Policy.Decide(ExchangeOutcome.Transient, emptyPage: false, state);
            decisions.Add(decision);
            state = decision.State;
        }

        Assert.Equal(
        [
            new RetryDecision.RetryAfter(new AttemptState(1, 1, false), TimeSpan.FromMilliseconds(250)),
            new RetryDecision.RetryAfter(new AttemptState(2, 2, false), TimeSpan.FromMilliseconds(500)),
            new RetryDecision.GiveUp(new AttemptState(3, 3, false), "gave up after retries"),
        ], decisions);
    }

    [Theory]
    [InlineData(nameof(ExchangeOutcome.RateLimited))]
    [InlineData(nameof(ExchangeOutcome.Banned))]
    public void A_429_or_418_is_retried_at_once_without_counting_toward_giving_up(string outcomeName)
    {
        var outcome = Enum.Parse<ExchangeOutcome>(outcomeName);
        var before = new AttemptState(5, 2, false);

        Assert.Equal(new RetryDecision.RetryNow(new AttemptState(6, 2, false)), Policy.Decide(outcome, emptyPage: false, before));
    }

    [Fact]
    public void A_permanent_refusal_gives_up_at_once()
    {
        Assert.Equal(new RetryDecision.GiveUp(new AttemptState(1, 0, false), "refused by the exchange"), Policy.Decide(ExchangeOutcome.Permanent, emptyPage: false, AttemptState.First));
    }

    [Fact]
    public void The_back_off_is_capped()
    {
        var policy = new RetryPolicy { MaxAttempts = 100, MaxBackoff = TimeSpan.FromSeconds(30) };

        var decision = policy.Decide(ExchangeOutcome.Transient, emptyPage: false, new AttemptState(40, 40, false));

        Assert.Equal(TimeSpan.FromSeconds(30), Assert.IsType<RetryDecision.RetryAfter>(decision).Delay);
    }
}
