using System.Globalization;
using System.Text;
using Npgsql;

namespace Scraper.Storage.Postgres;

/// <summary>
/// A --db value that names a PostgreSQL database: a <c>postgres://user@host:5432/db?sslmode=…</c>
/// URI (translated here, since Npgsql reads only its own form) or Npgsql's <c>Host=…;Database=…</c>
/// form. <see cref="Target"/> (host, port, database) is what messages and logs show; the password
/// never leaves <see cref="ConnectionString"/>.
/// </summary>
internal sealed class PostgresConnectionSettings
{
    private static readonly Dictionary<string, string> UriParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sslmode"] = "SSL Mode",
        ["sslrootcert"] = "Root Certificate",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["sslpassword"] = "SSL Password",
        ["connect_timeout"] = "Timeout",
        ["application_name"] = "Application Name",
        ["target_session_attrs"] = "Target Session Attributes",
        ["options"] = "Options",
        ["passfile"] = "Passfile",
        ["user"] = "Username",
        ["dbname"] = "Database",
        ["host"] = "Host",
        ["port"] = "Port",
        ["password"] = "Password",
        ["keepalives_idle"] = "Keepalive",
        ["gssencmode"] = "GSS Encryption Mode",
        ["channel_binding"] = "Channel Binding",
    };

    private PostgresConnectionSettings(NpgsqlConnectionStringBuilder builder, bool passwordInline)
    {
        PasswordInline = passwordInline;
        // Prepared statements save a parse and plan per response on each pooled connection.
        if (builder.MaxAutoPrepare == 0) builder.MaxAutoPrepare = 16;
        if (string.IsNullOrEmpty(builder.ApplicationName)) builder.ApplicationName = "bitcoin-price-scraper";
        var port = builder.Port == 0 ? NpgsqlConnection.DefaultPort : builder.Port;
        var host = string.IsNullOrEmpty(builder.Host) ? "localhost" : builder.Host;
        Target = host.Contains(':', StringComparison.Ordinal) || host.Contains(',', StringComparison.Ordinal)
            ? $"postgres {host}/{builder.Database}"
            : $"postgres {host}:{port.ToString(CultureInfo.InvariantCulture)}/{builder.Database}";
        ConnectionString = builder.ConnectionString;
    }

    /// <summary>The Npgsql connection string, password included when one was given: never show it.</summary>
    public string ConnectionString { get; }

    /// <summary>"postgres HOST:PORT/DATABASE": what errors and logs name.</summary>
    public string Target { get; }

    /// <summary>True when the --db value itself held the password (visible in ps and shell history).</summary>
    public bool PasswordInline { get; }

    /// <inheritdoc />
    public override string ToString() => Target;

    /// <summary>True when <paramref name="db"/> names a PostgreSQL database rather than an SQLite file.</summary>
    public static bool IsPostgres(string? db) =>
        db is not null
        && (db.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            || db.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || HasKey(db, "host") || HasKey(db, "server"));

    /// <summary>
    /// Parses a --db value. <paramref name="password"/> (from a password file or credential) wins
    /// over one in the value; without either Npgsql falls back to PGPASSWORD and .pgpass.
    /// Throws <see cref="FormatException"/> with a message that never repeats the value.
    /// </summary>
    public static PostgresConnectionSettings Parse(string db, string? password = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        var builder = db.Contains("://", StringComparison.Ordinal) ? FromUri(db) : FromKeyValues(db);
        var inline = !string.IsNullOrEmpty(builder.Password);
        if (password is not null) builder.Password = password;
        if (string.IsNullOrEmpty(builder.Database))
            throw new FormatException("names no database (expected postgres://USER@HOST:PORT/DATABASE or Host=…;Database=…)");
        return new PostgresConnectionSettings(builder, inline && password is null);
    }

    private static bool HasKey(string db, string key) =>
        db.Split(';').Any(part => part.Split('=')[0].Trim().Equals(key, StringComparison.OrdinalIgnoreCase) && part.Contains('=', StringComparison.Ordinal));

    private static NpgsqlConnectionStringBuilder FromKeyValues(string db)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(db);
        }
        catch (ArgumentException e)
        {
            // Npgsql's messages name the keyword, not its value; the value may be a password.
            throw new FormatException("is not a valid Npgsql connection string: " + e.Message.Split('\n')[0].Split(" (Parameter")[0], e);
        }
    }

    /// <summary>postgres[ql]://[user[:password]@][host[:port][,host[:port]…]][/database][?key=value&amp;…]</summary>
    private static NpgsqlConnectionStringBuilder FromUri(string uri)
    {
        var rest = uri[(uri.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var builder = new NpgsqlConnectionStringBuilder();

        var queryAt = rest.IndexOf('?', StringComparison.Ordinal);
        var query = queryAt >= 0 ? rest[(queryAt + 1)..] : "";
        if (queryAt >= 0) rest = rest[..queryAt];
        var pathAt = rest.IndexOf('/', StringComparison.Ordinal);
        var path = pathAt >= 0 ? rest[(pathAt + 1)..] : "";
        var authority = pathAt >= 0 ? rest[..pathAt] : rest;

        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Decode(colon >= 0 ? userInfo[..colon] : userInfo);
            if (colon >= 0) builder.Password = Decode(userInfo[(colon + 1)..]);
        }
        if (authority.Length > 0) SetHosts(builder, authority);
        if (path.Length > 0) builder.Database = Decode(path);

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Decode(eq >= 0 ? pair[..eq] : pair);
            var value = eq >= 0 ? Decode(pair[(eq + 1)..]) : "";
            if (!UriParameters.TryGetValue(name, out var keyword))
                throw new FormatException($"has an unknown parameter '{name}' (expected one of {string.Join(", ", UriParameters.Keys)})");
            if (name.Equals("sslmode", StringComparison.OrdinalIgnoreCase)) value = SslMode(value);
            try
            {
                builder[keyword] = value;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
            {
                var shown = keyword is "Password" or "SSL Password" ? "(hidden)" : $"'{value}'";
                throw new FormatException($"has an invalid value {shown} for '{name}'", e);
            }
        }
        return builder;
    }

    private static void SetHosts(NpgsqlConnectionStringBuilder builder, string authority)
    {
        var hosts = new List<string>();
        foreach (var part in authority.Split(','))
        {
            string host;
            string? port = null;
            if (part.StartsWith('['))
            {
                var close = part.IndexOf(']', StringComparison.Ordinal);
                if (close < 0) throw new FormatException("has an unclosed '[' in its host");
                host = part[1..close];
                if (close + 1 < part.Length && part[close + 1] == ':') port = part[(close + 2)..];
            }
            else
            {
                var colon = part.LastIndexOf(':');
                host = colon >= 0 ? part[..colon] : part;
                if (colon >= 0) port = part[(colon + 1)..];
            }
            host = Decode(host);
            if (port is not null && !ushort.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                throw new FormatException($"has an invalid port '{port}' (expected 1 to 65535)");
            if (authority.Contains(',', StringComparison.Ordinal))
                hosts.Add(port is null ? host : $"{host}:{port}");
            else
            {
                hosts.Add(host);
                if (port is not null) builder.Port = int.Parse(port, CultureInfo.InvariantCulture);
            }
        }
        builder.Host = string.Join(',', hosts);
    }

    private static string SslMode(string value) => value.ToLowerInvariant() switch
    {
        "disable" => "Disable",
        "allow" => "Allow",
        "prefer" => "Prefer",
        "require" => "Require",
        "verify-ca" => "VerifyCA",
        "verify-full" => "VerifyFull",
        _ => throw new FormatException($"has an invalid sslmode '{value}' (expected disable, allow, prefer, require, verify-ca or verify-full)"),
    };

    private static string Decode(string text)
    {
        if (!text.Contains('%', StringComparison.Ordinal)) return text;
        var bytes = new List<byte>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '%' && i + 2 < text.Length
                && byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 2;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(text[i].ToString()));
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
