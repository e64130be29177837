using System.Text;
using System.Text.Json;
using Scraper.Exchange;

namespace Scraper.Tests.Exchange;

/// <summary>The plain-number reader gives every decimal, scale and sign included, that <see cref="Utf8JsonReader.TryGetDecimal"/> gives.</summary>
public sealed class UpbitJsonNumbersTests
{
    public static TheoryData<string> Numbers() =>
    [
        "0", "-0", "0.0", "0.00000000", "-0.0", "1", "-1", "7", "10", "100", "143250000.0", "143250000.50", "1.50", "-999999.75",
        "0.0069930069", "0.00001", "1E-05", "1e-5", "1.4328E+8", "1e40", "2243.12345678", "321098765432.10987654",
        "9999999999999999999", "18446744073709551615", "18446744073709551616", "99999999999999999999", "1234567890.123456789",
        "0.1234567890123456789", "0.12345678901234567890", "0.0000000000000000000000000001", "0.00000000000000000000000000001",
        "79228162514264337593543950335", "79228162514264337593543950336", "-79228162514264337593543950335",
        "12345678901234567890.5", "1.0000000000000000000000000001", "5e0", "-0.000000001", "1750740959123",
    ];

    [Theory]
    [MemberData(nameof(Numbers))]
    public void Reads_a_number_as_the_reader_does(string text)
    {
        var expected = Read(text, (ref Utf8JsonReader r, out decimal d) => r.TryGetDecimal(out d));
        var actual = Read(text, UpbitJsonNumbers.TryGetDecimal);

        Assert.Equal(expected.Ok, actual.Ok);
        Assert.Equal(decimal.GetBits(expected.Value), decimal.GetBits(actual.Value));
    }

    [Fact]
    public void Reads_random_plain_numbers_as_the_reader_does()
    {
        var random = new Random(7);
        for (var i = 0; i < 20_000; i++)
        {
            var digits = new StringBuilder();
            if (random.Next(4) == 0) digits.Append('-');
            var whole = random.Next(0, 21);
            digits.Append(whole == 0 ? "0" : random.Next(1, 10).ToString(System.Globalization.CultureInfo.InvariantCulture));
            for (var d = 1; d < whole; d++) digits.Append((char)('0' + random.Next(10)));
            var fraction = random.Next(0, 22);
            if (fraction > 0) digits.Append('.');
            for (var d = 0; d < fraction; d++) digits.Append((char)('0' + (random.Next(3) == 0 ? 0 : random.Next(10))));
            var text = digits.ToString();

            var expected = Read(text, (ref Utf8JsonReader r, out decimal d) => r.TryGetDecimal(out d));
            var actual = Read(text, UpbitJsonNumbers.TryGetDecimal);

            Assert.True(expected.Ok == actual.Ok, text);
            Assert.True(decimal.GetBits(expected.Value).SequenceEqual(decimal.GetBits(actual.Value)), $"{text}: {actual.Value} instead of {expected.Value}");
        }
    }

    private delegate bool Reader(ref Utf8JsonReader reader, out decimal value);

    private static (bool Ok, decimal Value) Read(string text, Reader read)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
        Assert.True(reader.Read());
        Assert.Equal(JsonTokenType.Number, reader.TokenType);
        var ok = read(ref reader, out var value);
        return (ok, value);
    }
}
