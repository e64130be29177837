using System.Net;
using System.Net.Sockets;
using Scraper.Tests.FakeExchange;

namespace Scraper.Tests.Fleet;

/// <summary>
/// The fake exchange counts its rate limit per source IP, as the real one does: clients bound to
/// 127.0.0.2 and 127.0.0.3 (all of 127.0.0.0/8 is loopback) each get the whole budget.
/// </summary>
public sealed class SourceAddressTests : IAsyncLifetime
{
    private FakeUpbitExchange _exchange = null!;

    public async Task InitializeAsync() => _exchange = await FakeUpbitExchange.StartAsync(new FakeExchangeOptions { BanAfter429s = 1000 });

    public async Task DisposeAsync() => await _exchange.DisposeAsync();

    [Fact]
    public async Task Each_source_address_has_its_own_budget_and_the_exchange_records_it()
    {
        using var second = BoundClient("127.0.0.2");
        using var third = BoundClient("127.0.0.3");

        var statuses = await Task.WhenAll(Burst(second, 10).Concat(Burst(third, 10)));

        Assert.Equal(20, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(0, _exchange.Count429);
        Assert.Equal(10, _exchange.Requests.Count(r => r.SourceIp == "127.0.0.2"));
        Assert.Equal(10, _exchange.Requests.Count(r => r.SourceIp == "127.0.0.3"));
    }

    [Fact]
    public async Task One_source_address_over_its_budget_gets_429_while_another_is_served()
    {
        using var second = BoundClient("127.0.0.2");
        using var third = BoundClient("127.0.0.3");

        var greedy = await Task.WhenAll(Burst(second, 15));
        var polite = await Task.WhenAll(Burst(third, 5));

        Assert.Equal(5, greedy.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.All(polite, s => Assert.Equal(HttpStatusCode.OK, s));
    }

    private IEnumerable<Task<HttpStatusCode>> Burst(HttpClient client, int count) =>
        Enumerable.Range(0, count).Select(async i =>
        {
            using var response = await client.GetAsync(new Uri(_exchange.BaseUrl, $"v1/candles/minutes/1?market=KRW-BTC&count=1&to=2025-06-24T04:{i:00}:00Z"));
            return response.StatusCode;
        });

    /// <summary>An HttpClient whose connections leave from <paramref name="address"/>.</summary>
    internal static HttpClient BoundClient(string address) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, ct) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    });
}
