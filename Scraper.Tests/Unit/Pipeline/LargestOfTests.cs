using Scraper.Pipeline;

namespace Scraper.Tests.Pipeline;

/// <summary>The bounded selection keeps what a sort would put last, duplicates included.</summary>
public class LargestOfTests
{
    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 5)]
    [InlineData(3, 2)]
    [InlineData(10, 10)]
    [InlineData(10, 110)]
    [InlineData(64, 40)]
    public void The_k_th_largest_is_the_sorted_values_k_th_from_the_end(int k, int n)
    {
        var random = new Random(k * 1000 + n);
        for (var round = 0; round < 50; round++)
        {
            var values = Enumerable.Range(0, n).Select(_ => (long)random.Next(0, 20)).ToList();
            var largest = new LargestOf(new long[k]);
            foreach (var v in values) largest.Offer(v);

            var sorted = values.Order().ToList();
            Assert.Equal(Math.Min(k, n), largest.Count);
            if (n >= k) Assert.Equal(sorted[n - k], largest.Smallest);
        }
    }
}
