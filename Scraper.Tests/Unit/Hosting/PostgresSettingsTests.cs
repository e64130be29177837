using Scraper.Hosting;

namespace Scraper.Tests.Hosting;

/// <summary>--db naming a PostgreSQL database, and where its password comes from.</summary>
public sealed class PostgresSettingsTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ScraperSettings Load(Dictionary<string, string> cli, Dictionary<string, string>? env = null) =>
        SettingsLoader.Load(cli, null, env ?? new Dictionary<string, string> { ["HOME"] = "/root" }, Now, needsWritableDb: true);

    [Theory]
    [InlineData("postgres://scraper@db.example:5432/candles?sslmode=verify-full", "postgres db.example:5432/candles")]
    [InlineData("Host=db.example;Database=candles;Username=scraper", "postgres db.example:5432/candles")]
    public void A_connection_string_is_kept_as_given_and_not_probed_as_a_file(string db, string described)
    {
        var s = Load(new Dictionary<string, string> { ["Db"] = db });

        Assert.Equal(db, s.DbPath);
        Assert.Null(s.DbPasswordFile);
        Assert.Equal(described, StoreFactory.Describe(s.DbPath));
    }

    [Fact]
    public void The_password_file_comes_from_the_flag_or_the_db_password_credential()
    {
        File.WriteAllText(_dir.Combine("db-password"), "s3cret\n");
        var db = new Dictionary<string, string> { ["Db"] = "postgres://scraper@db/candles" };

        var fromCredential = Load(db, new Dictionary<string, string> { ["CREDENTIALS_DIRECTORY"] = _dir.Path });
        var fromFlag = Load(new Dictionary<string, string>(db) { ["DbPasswordFile"] = "/run/secrets/pg" });

        Assert.Equal(_dir.Combine("db-password"), fromCredential.DbPasswordFile);
        Assert.Equal("/run/secrets/pg", fromFlag.DbPasswordFile);
        Assert.DoesNotContain("s3cret", fromCredential.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_command_line_accepts_db_password_file()
    {
        var request = new CommandLineInterface().Parse(["verify", "--db", "postgres://u@h/d", "--db-password-file", "/run/pw"], TextWriter.Null, out _);

        Assert.Equal("/run/pw", request!.Settings["DbPasswordFile"]);
    }

    [Fact]
    public void A_bad_connection_string_is_a_configuration_error_that_does_not_repeat_it()
    {
        var settings = Load(new Dictionary<string, string> { ["Db"] = "postgres://u:hunter2@db/candles?sslmode=maybe" });
        var app = new Scraper.Hosting.ProgramContext(TextWriter.Null, TextWriter.Null, new Dictionary<string, string>(), TimeProvider.System, CancellationToken.None);

        var error = Assert.Throws<ConfigException>(() => StoreFactory.Open(settings, app, readOnly: true));

        Assert.Equal("invalid --db (PostgreSQL connection string): it has an invalid sslmode 'maybe' (expected disable, allow, prefer, require, verify-ca or verify-full)", error.Message);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }
}
