using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Scraper.Tests.FakeExchange;

/// <summary>The JWT check of a private call: HS512/HS256 signature, access key, nonce never reused, query hash.</summary>
public sealed partial class FakeUpbitExchange
{
    private readonly HashSet<string> _nonces = [];

    private void VerifyJwt(string header, string? rawQuery)
    {
        if (Options.SecretKey is null || Options.AccessKey is null) throw new BadRequest(401, "invalid_access_key", "no keys on the fake");
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal)) throw new BadRequest(401, "jwt_verification", "not a bearer token");
        var parts = header["Bearer ".Length..].Split('.');
        if (parts.Length != 3) throw new BadRequest(401, "jwt_verification", "malformed token");
        using var headerJson = JsonDocument.Parse(Base64Url(parts[0]));
        var alg = headerJson.RootElement.GetProperty("alg").GetString();
        var key = Encoding.UTF8.GetBytes(Options.SecretKey);
        var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        var expected = alg switch
        {
            "HS512" => HMACSHA512.HashData(key, signed),
            "HS256" => HMACSHA256.HashData(key, signed),
            _ => throw new BadRequest(401, "jwt_verification", $"unsupported alg {alg}"),
        };
        if (!CryptographicOperations.FixedTimeEquals(expected, Base64Url(parts[2]))) throw new BadRequest(401, "jwt_verification", "bad signature");
        using var payload = JsonDocument.Parse(Base64Url(parts[1]));
        var p = payload.RootElement;
        if (p.GetProperty("access_key").GetString() != Options.AccessKey) throw new BadRequest(401, "invalid_access_key", "unknown access key");
        var nonce = p.TryGetProperty("nonce", out var n) ? n.GetString() : null;
        lock (_gate)
        {
            if (string.IsNullOrEmpty(nonce) || !_nonces.Add(nonce)) throw new BadRequest(401, "nonce_used", "nonce missing or reused");
        }
        if (!string.IsNullOrEmpty(rawQuery))
        {
            var hash = Convert.ToHexStringLower(SHA512.HashData(Encoding.UTF8.GetBytes(rawQuery)));
            if (!p.TryGetProperty("query_hash", out var qh) || qh.GetString() != hash || !p.TryGetProperty("query_hash_alg", out var qa) || qa.GetString() != "SHA512")
                throw new BadRequest(401, "invalid_query_payload", "query_hash does not match the query");
        }
    }

    private static byte[] Base64Url(string s)
    {
        var padded = s.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - padded.Length % 4) % 4);
        return Convert.FromBase64String(padded);
    }
}
