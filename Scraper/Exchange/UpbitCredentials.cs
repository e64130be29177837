using System.Text;

namespace Scraper.Exchange;

/// <summary>
/// An Upbit access key and secret key. Both are secrets: <see cref="ToString"/> and the record's
/// printed form never show them, so an options object can be logged safely.
/// </summary>
internal sealed record UpbitCredentials(string AccessKey, string SecretKey)
{
    private const string Hidden = "***";

    /// <inheritdoc />
    public override string ToString() => $"{nameof(UpbitCredentials)} {{ {nameof(AccessKey)} = {Hidden}, {nameof(SecretKey)} = {Hidden} }}";

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(nameof(AccessKey)).Append(" = ").Append(Hidden).Append(", ")
               .Append(nameof(SecretKey)).Append(" = ").Append(Hidden);
        return true;
    }
}
