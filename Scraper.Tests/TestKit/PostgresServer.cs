using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Scraper.Tests.TestKit;

/// <summary>
/// A real, throwaway PostgreSQL server for one test class or collection: Debian's binaries,
/// initdb into a temporary folder, listening on 127.0.0.1 at a free port with password (SCRAM)
/// authentication over TCP. <see cref="StopAsync"/> with <c>immediate</c> is a real crash; a later
/// <see cref="StartAsync"/> recovers the same data directory. Initialise with
/// <see cref="InitializeAsync"/>; tests guard themselves with <see cref="SkipReason"/>.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    /// <summary>The superuser's password (a test secret, never a real one).</summary>
    public const string Password = "test-password-7f3a";

    /// <summary>The superuser.</summary>
    public const string User = "postgres";

    private readonly string _folder = Directory.CreateTempSubdirectory("scraper-pg-").FullName;

    /// <summary>Why no server can run here (no binaries, or root without a postgres user); null when one can.</summary>
    public static string? SkipReason { get; } = FindSkipReason();

    /// <summary>The folder of initdb, pg_ctl and postgres, or null.</summary>
    public static string? BinDirectory { get; } = FindBinDirectory();

    /// <summary>The port the server listens on.</summary>
    public int Port { get; private set; }

    /// <summary>Whether <see cref="SkipReason"/> held when the fixture was made.</summary>
    public bool Available => SkipReason is null;

    private string DataDirectory => Path.Combine(_folder, "data");

    /// <summary>An Npgsql connection string (with the password) for a database of this server.</summary>
    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username={User};Password={Password};Database={database}";

    /// <summary>The same without the password (it must come from a file or PGPASSWORD).</summary>
    public string ConnectionStringWithoutPassword(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username={User};Database={database}";

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (!Available) return;
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(_folder, (UnixFileMode)0b111_101_101);
        var passwordFile = Path.Combine(_folder, "pwfile");
        await File.WriteAllTextAsync(passwordFile, Password + "\n");
        if (SystemRequirements.IsRoot) await Commands.RunCheckedAsync("chown", "-R", "postgres:postgres", _folder);
        await RunPgAsync("initdb", "-D", DataDirectory, "-U", User, "--pwfile", passwordFile,
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync");
        Port = FreePort();
        await StartAsync();
    }

    /// <summary>Starts the server on its data directory (after a stop, this is crash recovery).</summary>
    public Task StartAsync() => RunPgAsync("pg_ctl", "-D", DataDirectory, "-w", "-t", "60", "-l", Path.Combine(_folder, "server.log"),
        "-o", $"-p {Port.ToString(CultureInfo.InvariantCulture)} -k {_folder} -c listen_addresses=127.0.0.1 -c max_connections=200", "start");

    /// <summary>Stops the server: <c>immediate</c> is a crash, <c>fast</c> a clean shutdown.</summary>
    public Task StopAsync(string mode = "fast") => RunPgAsync("pg_ctl", "-D", DataDirectory, "-w", "-m", mode, "stop");

    /// <summary>Creates an empty database and returns its name.</summary>
    public async Task<string> CreateDatabaseAsync(string? name = null)
    {
        name ??= "t" + Guid.NewGuid().ToString("N")[..12];
        await RunPgAsync("createdb", "-h", _folder, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", User, name);
        return name;
    }

    /// <summary>Runs SQL through psql on the server's socket and returns its output.</summary>
    public async Task<string> PsqlAsync(string database, string sql)
    {
        var (code, output) = await RunAsUserAsync(Path.Combine(BinDirectory!, "psql"),
            ["-h", _folder, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", User, "-d", database, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql]);
        Assert.True(code == 0, $"psql {sql}: {output}");
        return output.Trim();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (Available && File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            await RunAsUserAsync(Path.Combine(BinDirectory!, "pg_ctl"), ["-D", DataDirectory, "-m", "immediate", "stop"]);
        }
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static async Task RunPgAsync(string program, params string[] args)
    {
        var (code, output) = await RunAsUserAsync(Path.Combine(BinDirectory!, program), args);
        Assert.True(code == 0, $"{program} {string.Join(' ', args)}: {output}");
    }

    /// <summary>PostgreSQL's programs refuse root: as root they run as the postgres user.</summary>
    private static Task<(int Code, string Output)> RunAsUserAsync(string path, string[] args) =>
        SystemRequirements.IsRoot
            ? Commands.RunAsync("runuser", ["-u", "postgres", "--", path, .. args])
            : Commands.RunAsync(path, args);

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static string? FindBinDirectory() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => d, StringComparer.Ordinal)
                .FirstOrDefault()
            : null;

    private static string? FindSkipReason()
    {
        if (FindBinDirectory() is null) return "needs PostgreSQL's server binaries (apt-get install postgresql); ./build.sh test as root installs them";
        if (SystemRequirements.IsRoot && SystemRequirements.FindProgram("runuser") is null) return "needs runuser to run initdb as postgres when root";
        if (SystemRequirements.IsRoot && !File.ReadLines("/etc/passwd").Any(l => l.StartsWith("postgres:", StringComparison.Ordinal)))
            return "needs the postgres user (apt-get install postgresql creates it)";
        return null;
    }
}
