using System.Net;
using System.Net.Sockets;
using System.Text;
using Scraper.Metrics;

namespace Scraper.Tests.Metrics;

public sealed class MetricsListenerTests : IDisposable
{
    private readonly MetricsListener _listener;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public MetricsListenerTests()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        Prometheus.Metrics.WithCustomRegistry(registry).CreateCounter("test_requests_total", "a test counter").Inc(3);
        _listener = new MetricsListener(new ListenAddress("127.0.0.1", 0), registry);
        _listener.Start();
    }

    public void Dispose()
    {
        _http.Dispose();
        _listener.Dispose();
    }

    private Uri Url(string path) => new($"http://127.0.0.1:{_listener.Port}{path}");

    private async Task<string> RawAsync(string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _listener.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    [Fact]
    public async Task Metrics_are_served_in_the_text_format()
    {
        var response = await _http.GetAsync(Url("/metrics"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("test_requests_total 3", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Any_host_name_for_the_bound_address_is_accepted()
    {
        var response = await RawAsync("GET /metrics HTTP/1.1\r\nHost: localhost:8081\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthz_answers_ok_and_everything_else_is_404()
    {
        Assert.Equal("ok\n", await _http.GetStringAsync(Url("/healthz")));
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(Url("/"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(Url("/metrics/../etc/passwd"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(Url("/debug"))).StatusCode);
    }

    [Fact]
    public async Task Only_GET_and_HEAD_are_allowed_and_HEAD_has_no_body()
    {
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await _http.PostAsync(Url("/metrics"), new StringContent("x"))).StatusCode);
        var head = await RawAsync("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", head, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", head, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_or_oversized_request_is_refused_without_hanging()
    {
        Assert.StartsWith("HTTP/1.1 400", await RawAsync("hello\r\n\r\n"), StringComparison.Ordinal);
        var huge = "GET /metrics HTTP/1.1\r\nX: " + new string('a', 20_000) + "\r\n\r\n";
        string answer;
        try
        {
            answer = await RawAsync(huge);
        }
        catch (IOException)
        {
            return; // the server closed with our excess bytes unread: the kernel reset the connection, also a refusal
        }
        Assert.StartsWith("HTTP/1.1 431", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("test_requests_total", answer, StringComparison.Ordinal);
    }

    [Fact]
    public void A_port_in_use_throws_when_started()
    {
        using var second = new MetricsListener(new ListenAddress("127.0.0.1", _listener.Port), Prometheus.Metrics.NewCustomRegistry());
        Assert.Throws<SocketException>(second.Start);
    }

    [Fact]
    public async Task A_flood_of_scrapes_is_paced_and_shares_renderings_and_every_scrape_answers()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var renders = 0;
        registry.AddBeforeCollectCallback(() => Interlocked.Increment(ref renders));
        using var listener = new MetricsListener(new ListenAddress("127.0.0.1", 0), registry);
        listener.Start();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        const int Scrapes = 60;

        var started = System.Diagnostics.Stopwatch.StartNew();
        var answers = await Task.WhenAll(Enumerable.Range(0, Scrapes).Select(_ =>
            http.GetAsync(new Uri($"http://127.0.0.1:{listener.Port}/metrics"))));
        var elapsed = started.Elapsed;

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        // Paced: 60 responses cannot all start within less than 59 spacings.
        var floor = TimeSpan.FromSeconds(59.0 / MetricsListener.MaxResponsesPerSecond) - TimeSpan.FromMilliseconds(20);
        Assert.True(elapsed >= floor, $"60 scrapes answered in {elapsed.TotalMilliseconds:0} ms, paced at {MetricsListener.MaxResponsesPerSecond}/s");
        // Shared: one rendering per 100 ms at most, not one per scrape.
        Assert.True(renders <= elapsed.TotalMilliseconds / 100 + 2, $"{renders} renderings for {Scrapes} scrapes in {elapsed.TotalMilliseconds:0} ms");
    }
}
