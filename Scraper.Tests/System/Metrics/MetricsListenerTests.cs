using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Scraper.Metrics;

namespace Scraper.Tests.Metrics;

public sealed class MetricsListenerTests : IAsyncLifetime
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(1);
    private static readonly MetricsServerLimits Limits = new() { RequestHeadersTimeout = TimeSpan.FromSeconds(1) };
    private readonly MetricsListener _listener;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public MetricsListenerTests()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        Prometheus.Metrics.WithCustomRegistry(registry).CreateCounter("test_requests_total", "a test counter").Inc(3);
        _listener = new MetricsListener(new ListenAddress("127.0.0.1", 0), registry, limits: Limits);
    }

    public async Task InitializeAsync()
    {
        await _listener.StartAsync();
        await _http.GetAsync(Url("/metrics")); // timings below measure serving, not the first call's JIT
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _listener.DisposeAsync();
    }

    private Uri Url(string path) => new($"http://127.0.0.1:{_listener.Port}{path}");

    private Task<RawAnswer> RawAsync(string request) => RawHttp.SendAsync(_listener.Port, request, TimeSpan.FromSeconds(3));

    [Fact]
    public async Task Metrics_are_served_in_the_text_format()
    {
        var response = await _http.GetAsync(Url("/metrics"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("test_requests_total 3", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenMetrics_is_served_when_the_scraper_asks_for_it()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Url("/metrics"));
        // What Prometheus sends.
        request.Headers.TryAddWithoutValidation("Accept", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");

        var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("application/openmetrics-text; version=1.0.0", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("# EOF\n", body, StringComparison.Ordinal);
        Assert.Contains("test_requests_total 3", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_text_format_is_kept_when_OpenMetrics_is_not_asked_for()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Url("/metrics"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));

        var response = await _http.SendAsync(request);

        Assert.StartsWith("text/plain; version=0.0.4", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("# EOF", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_are_gzipped_when_the_scraper_accepts_gzip()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Url("/metrics"));
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));

        var response = await _http.SendAsync(request); // HttpClient does not decompress unless told to

        Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));
        await using var gunzip = new GZipStream(await response.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
        Assert.Contains("test_requests_total 3", await new StreamReader(gunzip).ReadToEndAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Any_host_name_for_the_bound_address_is_accepted()
    {
        var answer = await RawAsync("GET /metrics HTTP/1.1\r\nHost: localhost:8081\r\nConnection: close\r\n\r\n");
        Assert.Equal(200, answer.Status);
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
    public async Task Only_GET_and_HEAD_are_allowed_the_405_says_so_and_HEAD_has_no_body()
    {
        var post = await _http.PostAsync(Url("/metrics"), new StringContent("x"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal("GET, HEAD", string.Join(", ", post.Content.Headers.Allow));

        var head = await RawAsync("HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.Equal(200, head.Status);
        Assert.EndsWith("\r\n\r\n", head.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_request_is_answered_400_and_closed_promptly()
    {
        var answer = await RawAsync("hello\r\n\r\n");

        Assert.True(answer.Status == 400 && answer.Closed && answer.Elapsed < Prompt, answer.ToString());
    }

    [Fact]
    public async Task An_oversized_head_is_answered_431_and_closed_promptly_without_metrics()
    {
        // One write far larger than any limit: the server answers before reading it all and
        // then resets the connection; the reader keeps what arrived before the reset.
        var answer = await RawAsync("GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + new string('a', 100_000) + "\r\n\r\n");

        Assert.True(answer.Status == 431 && answer.Closed && answer.Elapsed < Prompt, answer.ToString());
        Assert.DoesNotContain("test_requests_total", answer.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_ending_lines_in_bare_LF_is_answered_promptly()
    {
        var answer = await RawAsync("GET /metrics HTTP/1.1\nHost: x\nConnection: close\n\n");

        // RFC 9112 lets a server accept or refuse bare LF; this one refuses at once (no rendering).
        Assert.True(answer.Status == 400 && answer.Elapsed < Prompt, answer.ToString());
    }

    [Fact]
    public async Task A_half_sent_head_is_dropped_after_the_header_timeout_and_scrapes_go_on()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _listener.Port);
        var stream = client.GetStream();
        var started = Stopwatch.StartNew();
        await stream.WriteAsync("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow:"u8.ToArray());

        var scrape = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(Url("/metrics"))).StatusCode);
        Assert.True(scrape.Elapsed < Prompt, $"scrape took {scrape.Elapsed.TotalMilliseconds:0} ms beside a half-sent head");
        var answer = await RawHttp.ReadToCloseAsync(stream, started, Limits.RequestHeadersTimeout + TimeSpan.FromSeconds(3));
        Assert.True(answer.Closed && answer.Elapsed >= Limits.RequestHeadersTimeout - TimeSpan.FromMilliseconds(100), answer.ToString());
    }

    [Fact]
    public async Task Healthz_does_not_wait_behind_a_crowd_of_scrapes()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var crowd = Enumerable.Range(0, 150).Select(_ => http.GetAsync(Url("/metrics"))).ToList();
        await Task.Delay(100); // the crowd is connected and queued

        var started = Stopwatch.StartNew();
        Assert.Equal("ok\n", await http.GetStringAsync(Url("/healthz")));
        var healthz = started.Elapsed;
        await Task.WhenAll(crowd);

        Assert.True(healthz < TimeSpan.FromMilliseconds(500), $"/healthz took {healthz.TotalMilliseconds:0} ms behind 150 scrapes");
    }

    [Fact]
    public async Task A_flood_of_requests_that_hang_up_does_not_delay_the_next_scrape()
    {
        var request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();
        for (var i = 0; i < 1000; i++)
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, _listener.Port);
            await client.GetStream().WriteAsync(request);
        }

        var started = Stopwatch.StartNew();
        var metrics = await _http.GetAsync(Url("/metrics"));
        var metricsTook = started.Elapsed;
        started.Restart();
        var healthz = await _http.GetAsync(Url("/healthz"));
        var healthzTook = started.Elapsed;

        Assert.True(metrics.StatusCode == HttpStatusCode.OK && metricsTook < Prompt, $"/metrics after the flood: {metrics.StatusCode} in {metricsTook.TotalMilliseconds:0} ms");
        Assert.True(healthz.StatusCode == HttpStatusCode.OK && healthzTook < Prompt, $"/healthz after the flood: {healthz.StatusCode} in {healthzTook.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task Idle_connections_do_not_delay_scrapes()
    {
        var idle = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 1000; i++)
            {
                var c = new TcpClient();
                idle.Add(c);
                await c.ConnectAsync(IPAddress.Loopback, _listener.Port);
            }
            // A connect returns once the kernel has queued it; the scrape must come after the server
            // holds them all, or it races their admission (which the attack test covers).
            var admitted = Stopwatch.StartNew();
            while (_listener.HeldConnections < idle.Count && admitted.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(10);
            Assert.Equal(idle.Count, _listener.HeldConnections);
            Assert.Equal(1, _listener.Evicted); // _http's connection, the longest idle

            // On a connection of its own: the 1000th idle one took the server's last place, and the server made
            // room by closing the longest idle, _http's kept-alive connection from InitializeAsync; reusing it
            // raced that close (a reset). A Prometheus whose connection was closed opens a new one, as here.
            using var scraper = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var started = Stopwatch.StartNew();
            var response = await scraper.GetAsync(Url("/metrics"));

            Assert.True(response.StatusCode == HttpStatusCode.OK && started.Elapsed < Prompt, $"{response.StatusCode} in {started.Elapsed.TotalMilliseconds:0} ms beside 1000 idle connections");
        }
        finally
        {
            foreach (var c in idle) c.Dispose();
        }
    }

    [Fact]
    public async Task A_port_in_use_throws_a_bind_failure_when_started()
    {
        await using var second = new MetricsListener(new ListenAddress("127.0.0.1", _listener.Port), Prometheus.Metrics.NewCustomRegistry());
        var e = await Assert.ThrowsAnyAsync<Exception>(() => second.StartAsync());
        Assert.True(MetricsListener.CannotBind(e), e.ToString());
        Assert.Contains("in use", MetricsListener.BindFailure(e), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flood_of_scrapes_is_paced_shares_renderings_and_every_scrape_answers()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var renders = 0;
        var rendering = 0;
        var overlapped = false;
        registry.AddBeforeCollectCallback(() =>
        {
            Interlocked.Increment(ref renders);
            if (Interlocked.Increment(ref rendering) > 1) overlapped = true;
            Thread.Sleep(5); // a render that takes time, so that overlapping renders would show
            Interlocked.Decrement(ref rendering);
        });
        var limits = new MetricsServerLimits();
        await using var listener = new MetricsListener(new ListenAddress("127.0.0.1", 0), registry, limits: limits);
        await listener.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        const int Scrapes = 200;

        var started = Stopwatch.StartNew();
        var answers = await Task.WhenAll(Enumerable.Range(0, Scrapes).Select(_ =>
            http.GetAsync(new Uri($"http://127.0.0.1:{listener.Port}/metrics"))));
        var elapsed = started.Elapsed;

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        // Paced: beyond the first tenth of a second's worth, each response waits for its turn.
        var floor = TimeSpan.FromSeconds((Scrapes - limits.MaxScrapesPerSecond / 10.0) / limits.MaxScrapesPerSecond) - TimeSpan.FromMilliseconds(50);
        Assert.True(elapsed >= floor, $"{Scrapes} scrapes answered in {elapsed.TotalMilliseconds:0} ms, paced at {limits.MaxScrapesPerSecond}/s");
        Assert.False(overlapped, "two renderings ran at once");
        // Shared: one rendering per 100 ms at most, not one per scrape.
        Assert.True(renders <= elapsed.TotalMilliseconds / MetricsListener.RenderMaxAge.TotalMilliseconds + 2, $"{renders} renderings for {Scrapes} scrapes in {elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task A_scrape_that_hangs_up_while_waiting_gives_its_turn_back()
    {
        var limits = new MetricsServerLimits { MaxScrapesPerSecond = 10 };
        await using var listener = new MetricsListener(new ListenAddress("127.0.0.1", 0), Prometheus.Metrics.NewCustomRegistry(), limits: limits);
        await listener.StartAsync();
        var request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();
        for (var i = 0; i < 50; i++) // five seconds of turns, were they kept
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, listener.Port);
            await client.GetStream().WriteAsync(request);
        }
        await Task.Delay(200); // the hang-ups are seen

        var started = Stopwatch.StartNew();
        var response = await _http.GetAsync(new Uri($"http://127.0.0.1:{listener.Port}/metrics"));

        Assert.True(response.StatusCode == HttpStatusCode.OK && started.Elapsed < Prompt, $"{response.StatusCode} in {started.Elapsed.TotalMilliseconds:0} ms after 50 scrapers hung up");
    }

    [Fact]
    public async Task Scrapes_beyond_the_waiting_room_are_answered_503_at_once()
    {
        var limits = new MetricsServerLimits { MaxScrapesPerSecond = 10, MaxWaitingScrapes = 5 };
        await using var listener = new MetricsListener(new ListenAddress("127.0.0.1", 0), Prometheus.Metrics.NewCustomRegistry(), limits: limits);
        await listener.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => http.GetAsync(new Uri($"http://127.0.0.1:{listener.Port}/metrics"))));

        var busy = answers.Where(a => a.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();
        Assert.NotEmpty(busy);
        Assert.All(busy, a => Assert.Equal("1", a.Headers.RetryAfter!.ToString()));
        Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, a.StatusCode.ToString()));
    }

    [Fact]
    public async Task At_the_connection_limit_a_new_scraper_closes_the_connection_idle_the_longest()
    {
        var limits = new MetricsServerLimits { MaxConnections = 16 };
        await using var listener = new MetricsListener(new ListenAddress("127.0.0.1", 0), Prometheus.Metrics.NewCustomRegistry(), limits: limits);
        await listener.StartAsync();
        var idle = new List<TcpClient>();
        try
        {
            for (var i = 0; i < limits.MaxConnections; i++)
            {
                var c = new TcpClient();
                idle.Add(c);
                await c.ConnectAsync(IPAddress.Loopback, listener.Port);
                await Task.Delay(10); // a distinct age for each
            }
            await Task.Delay(200); // every one admitted

            var started = Stopwatch.StartNew();
            var response = await _http.GetAsync(new Uri($"http://127.0.0.1:{listener.Port}/metrics"));

            Assert.True(response.StatusCode == HttpStatusCode.OK && started.Elapsed < Prompt, $"{response.StatusCode} in {started.Elapsed.TotalMilliseconds:0} ms with every connection taken");
            var oldest = await RawHttp.ReadToCloseAsync(idle[0].GetStream(), Stopwatch.StartNew(), Prompt);
            Assert.True(oldest.Closed, "the oldest idle connection is still open: " + oldest);
            var newest = await RawHttp.ReadToCloseAsync(idle[^1].GetStream(), Stopwatch.StartNew(), TimeSpan.FromMilliseconds(200));
            Assert.False(newest.Closed, "the newest idle connection was closed instead of the oldest");
            Assert.Equal(1, listener.Evicted);
        }
        finally
        {
            foreach (var c in idle) c.Dispose();
        }
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("*/*", false)]
    [InlineData("text/plain", false)]
    [InlineData("application/openmetrics-text", true)]
    [InlineData("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", true)]
    [InlineData("text/plain;q=1,application/openmetrics-text;q=0.5", false)]
    [InlineData("application/openmetrics-text;q=0", false)]
    public void OpenMetrics_is_chosen_only_when_ranked_at_least_as_high_as_text(string? accept, bool expected)
    {
        Assert.Equal(expected, MetricsEndpoint.PrefersOpenMetrics(accept));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("identity", false)]
    [InlineData("gzip", true)]
    [InlineData("br, gzip;q=0.8", true)]
    [InlineData("gzip;q=0", false)]
    [InlineData("*", true)]
    public void Gzip_is_used_only_when_accepted(string? acceptEncoding, bool expected)
    {
        Assert.Equal(expected, MetricsEndpoint.AcceptsGzip(acceptEncoding));
    }
}
