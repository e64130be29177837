using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Scraper.Exchange;

/// <summary>
/// Creates the JWT Upbit expects in <c>Authorization: Bearer</c>: HS512-signed with the secret key,
/// payload <c>access_key</c>, a fresh <c>nonce</c> per request and, when the request has a query
/// string, <c>query_hash</c> (lower-case hex SHA-512 of the query string exactly as sent) with
/// <c>query_hash_alg</c> = <c>SHA512</c>.
/// </summary>
internal sealed class UpbitTokenFactory
{
    /// <summary>The value of the <c>query_hash_alg</c> claim.</summary>
    public const string QueryHashAlgorithm = "SHA512";

    // HS512 wants at least 64 key bytes. HMAC pads any key shorter than the SHA-512 block (128 bytes)
    // with zero bytes, so zero-padding a short key to 64 bytes yields exactly the same signature as
    // the original key (RFC 2104) while satisfying the library's key-size check. Upbit secret keys
    // are 40 characters.
    private const int MinimumHs512KeyBytes = 64;

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    private readonly string _accessKey;
    private readonly SigningCredentials _signing;

    /// <summary>Creates a factory for the given keys.</summary>
    public UpbitTokenFactory(UpbitCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentException.ThrowIfNullOrEmpty(credentials.AccessKey, nameof(credentials));
        ArgumentException.ThrowIfNullOrEmpty(credentials.SecretKey, nameof(credentials));
        _accessKey = credentials.AccessKey;
        var key = Encoding.UTF8.GetBytes(credentials.SecretKey);
        if (key.Length < MinimumHs512KeyBytes) Array.Resize(ref key, MinimumHs512KeyBytes);
        _signing = new SigningCredentials(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha512);
    }

    /// <summary>
    /// A signed token for one request. <paramref name="queryString"/> is the query exactly as it goes
    /// on the wire, without the leading '?'; null or empty when the request has none.
    /// </summary>
    public string CreateToken(string? queryString)
    {
        // Only string values: the handler writes them without reflection (NativeAOT-safe).
        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["access_key"] = _accessKey,
            ["nonce"] = Guid.NewGuid().ToString("D", CultureInfo.InvariantCulture),
        };
        if (!string.IsNullOrEmpty(queryString))
        {
            claims["query_hash"] = HashQuery(queryString);
            claims["query_hash_alg"] = QueryHashAlgorithm;
        }
        return Handler.CreateToken(new SecurityTokenDescriptor { Claims = claims, SigningCredentials = _signing });
    }

    /// <summary>Lower-case hex SHA-512 of the UTF-8 bytes of <paramref name="queryString"/>.</summary>
    public static string HashQuery(string queryString)
    {
        ArgumentNullException.ThrowIfNull(queryString);
        return Convert.ToHexStringLower(SHA512.HashData(Encoding.UTF8.GetBytes(queryString)));
    }
}
