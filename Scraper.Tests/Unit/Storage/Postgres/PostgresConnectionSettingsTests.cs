using Npgsql;
using Scraper.Storage.Postgres;

namespace Scraper.Tests.Storage.Postgres;

public sealed class PostgresConnectionSettingsTests
{
    [Theory]
    [InlineData("postgres://scraper@db.example:5432/candles?sslmode=verify-full", true)]
    [InlineData("postgresql://db/candles", true)]
    [InlineData("POSTGRES://db/candles", true)]
    [InlineData("Host=db;Database=candles", true)]
    [InlineData("host = db ; database=candles", true)]
    [InlineData("Server=db;Database=candles", true)]
    [InlineData("data/candles.db", false)]
    [InlineData("/var/lib/bitcoin-price-scraper/candles.db", false)]
    [InlineData("./host=1.db", false)]
    [InlineData("Host", false)]
    public void IsPostgres_tells_connection_strings_from_file_paths(string db, bool expected)
    {
        Assert.Equal(expected, PostgresConnectionSettings.IsPostgres(db));
    }

    [Fact]
    public void A_uri_is_translated_to_npgsql_keywords()
    {
        var settings = PostgresConnectionSettings.Parse("postgres://scraper@db.example:6543/candles?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem&application_name=fleet-7&connect_timeout=5");
        var cs = new NpgsqlConnectionStringBuilder(settings.ConnectionString);

        Assert.Equal("db.example", cs.Host);
        Assert.Equal(6543, cs.Port);
        Assert.Equal("scraper", cs.Username);
        Assert.Equal("candles", cs.Database);
        Assert.Equal(SslMode.VerifyFull, cs.SslMode);
        Assert.Equal("/etc/ssl/ca.pem", cs.RootCertificate);
        Assert.Equal("fleet-7", cs.ApplicationName);
        Assert.Equal(5, cs.Timeout);
        Assert.Null(cs.Password);
        Assert.False(settings.PasswordInline);
        Assert.Equal("postgres db.example:6543/candles", settings.Target);
    }

    [Fact]
    public void A_uri_is_percent_decoded_and_ipv6_hosts_and_default_port_work()
    {
        var settings = PostgresConnectionSettings.Parse("postgresql://us%40er:p%3Ass%2Fw%C3%B6rd@[::1]/my%20db");
        var cs = new NpgsqlConnectionStringBuilder(settings.ConnectionString);

        Assert.Equal("us@er", cs.Username);
        Assert.Equal("p:ss/wörd", cs.Password);
        Assert.Equal("::1", cs.Host);
        Assert.Equal("my db", cs.Database);
        Assert.True(settings.PasswordInline);
        Assert.Equal("postgres ::1/my db", settings.Target);
        Assert.DoesNotContain("p:ss", settings.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Several_hosts_keep_their_ports()
    {
        var cs = new NpgsqlConnectionStringBuilder(PostgresConnectionSettings.Parse("postgres://a:5433,b/candles").ConnectionString);

        Assert.Equal("a:5433,b", cs.Host);
    }

    [Fact]
    public void The_npgsql_form_is_kept_and_a_password_file_wins_over_an_inline_password()
    {
        var settings = PostgresConnectionSettings.Parse("Host=db;Port=5432;Username=u;Password=inline;Database=candles", password: "from-file");
        var cs = new NpgsqlConnectionStringBuilder(settings.ConnectionString);

        Assert.Equal("from-file", cs.Password);
        Assert.False(settings.PasswordInline);
        Assert.Equal("postgres db:5432/candles", settings.Target);
        Assert.Equal("bitcoin-price-scraper", cs.ApplicationName);
    }

    [Theory]
    [InlineData("postgres://db", "names no database")]
    [InlineData("postgres://db/candles?sslmode=sometimes", "invalid sslmode 'sometimes'")]
    [InlineData("postgres://db/candles?colour=blue", "unknown parameter 'colour'")]
    [InlineData("postgres://db:99999/candles", "invalid port '99999'")]
    [InlineData("Host=db;Database=candles;Frobnicate=secret-value", "not a valid Npgsql connection string")]
    public void Bad_values_are_refused_without_repeating_secrets(string db, string expected)
    {
        var error = Assert.Throws<FormatException>(() => PostgresConnectionSettings.Parse(db));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-value", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("28P01", nameof(PostgresErrorKind.Configuration))]
    [InlineData("3D000", nameof(PostgresErrorKind.Configuration))]
    [InlineData("28000", nameof(PostgresErrorKind.Configuration))]
    [InlineData("57P01", nameof(PostgresErrorKind.Transient))]
    [InlineData("57P03", nameof(PostgresErrorKind.Transient))]
    [InlineData("08006", nameof(PostgresErrorKind.Transient))]
    [InlineData("53300", nameof(PostgresErrorKind.Transient))]
    [InlineData("40001", nameof(PostgresErrorKind.Transient))]
    [InlineData("23502", nameof(PostgresErrorKind.Other))]
    [InlineData("42P01", nameof(PostgresErrorKind.Other))]
    public void Sql_states_are_classified(string state, string expectedKind)
    {
        Assert.Equal(Enum.Parse<PostgresErrorKind>(expectedKind), PostgresErrors.ClassifyState(state));
    }

    [Fact]
    public void A_refused_connection_is_transient()
    {
        var refused = new NpgsqlException("Failed to connect to 127.0.0.1:1", new System.Net.Sockets.SocketException(111));

        Assert.Equal(PostgresErrorKind.Transient, PostgresErrors.Classify(refused));
    }

    [Fact]
    public void A_connection_torn_down_while_reading_is_transient()
    {
        // What Npgsql throws when the server crashes while a command waits for its answer (seen in CI).
        var torn = new NpgsqlException("Exception while reading from stream", new ObjectDisposedException("System.Net.Sockets.NetworkStream"));

        Assert.Equal(PostgresErrorKind.Transient, PostgresErrors.Classify(torn));
    }

    [Fact]
    public void Retry_delays_grow_and_are_capped()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(250), PostgresRetry.Delay(0));
        Assert.Equal(TimeSpan.FromMilliseconds(500), PostgresRetry.Delay(1));
        Assert.Equal(TimeSpan.FromSeconds(5), PostgresRetry.Delay(5));
        Assert.Equal(TimeSpan.FromSeconds(5), PostgresRetry.Delay(1000));
    }
}
