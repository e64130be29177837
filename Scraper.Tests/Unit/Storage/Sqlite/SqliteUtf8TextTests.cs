using System.Text;
using Scraper.Storage;
using Scraper.Storage.Sqlite;

namespace Scraper.Tests.Storage.Sqlite;

/// <summary>The UTF-8 the upsert binds is byte for byte <see cref="StoredText"/>'s text.</summary>
public sealed class SqliteUtf8TextTests
{
    public static TheoryData<decimal> Decimals() =>
    [
        0m, 0.0m, -0.0m, 0.00000000m, 1m, -1m, 7.5m, 95434759.3m, 143250000.0m, 1377973164.60604812m, 14.43628501m,
        0.00000015m, -0.05m, 0.1m, 1.50m, 100m, 1000.000m, 0.0000000000000000000000000001m, 18446744073709551615m,
        1844674407370955161.5m, 18446744073709551616m, 12345678901.234567890m, decimal.MaxValue, decimal.MinValue,
        -0.0069930069m, 0.0069930069m, 79228162514264.337593543950335m,
    ];

    [Theory]
    [MemberData(nameof(Decimals))]
    public void A_decimal_is_written_as_stored_text(decimal value)
    {
        Span<byte> buffer = stackalloc byte[64];

        Assert.True(SqliteUtf8Text.TryWriteDecimal(value, buffer, out var length));

        Assert.Equal(StoredText.Decimal(value), Encoding.UTF8.GetString(buffer[..length]));
    }

    [Fact]
    public void Decimals_of_every_scale_and_many_magnitudes_are_written_as_stored_text()
    {
        var random = new Random(11);
        Span<byte> buffer = stackalloc byte[64];
        for (var i = 0; i < 20_000; i++)
        {
            var value = new decimal(random.Next(), random.Next(2) == 0 ? 0 : random.Next(), random.Next(4) == 0 ? random.Next() : 0,
                random.Next(2) == 0, (byte)random.Next(29));
            Assert.True(SqliteUtf8Text.TryWriteDecimal(value, buffer, out var length));
            Assert.Equal(StoredText.Decimal(value), Encoding.UTF8.GetString(buffer[..length]));
        }
    }

    [Theory]
    [InlineData("2025-06-24T00:00:00+00:00")]
    [InlineData("2025-06-24T09:00:00+09:00")]
    [InlineData("0001-01-01T00:00:00+00:00")]
    [InlineData("9999-12-31T23:59:59+00:00")]
    [InlineData("2024-02-29T23:59:59+00:00")]
    [InlineData("2025-06-24T12:34:56.5+00:00")]
    [InlineData("2025-06-24T12:34:56.1234567+00:00")]
    public void An_instant_is_written_as_stored_text(string text)
    {
        var instant = DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        Span<byte> buffer = stackalloc byte[64];

        Assert.True(SqliteUtf8Text.TryWriteInstant(instant, buffer, out var length));

        Assert.Equal(StoredText.Instant(instant), Encoding.UTF8.GetString(buffer[..length]));
    }
}
