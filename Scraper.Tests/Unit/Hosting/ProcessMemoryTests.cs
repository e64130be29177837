using Scraper.Hosting;

namespace Scraper.Tests.Hosting;

public class ProcessMemoryTests
{
    private const string Executable = "/opt/bitcoin price scraper/bin/bitcoin-price-scraper";

    private static readonly string[] Maps =
    [
        "5581cbe00000-5581cc000000 r--p 00000000 fd:01 1234                       /opt/bitcoin price scraper/bin/bitcoin-price-scraper",
        "5581cc000000-5581ccc00000 r-xp 00200000 fd:01 1234                       /opt/bitcoin price scraper/bin/bitcoin-price-scraper",
        "5581ccc00000-5581ccc64000 rw-p 00e00000 fd:01 1234                       /opt/bitcoin price scraper/bin/bitcoin-price-scraper",
        "5581ccc64000-5581cd3b6000 rw-p 00000000 00:00 0 ",
        "7f6acee00000-7f6acef91000 r-xp 00000000 fd:01 99                         /usr/lib/x86_64-linux-gnu/libcrypto.so.3",
        "7f6ad0000000-7f6ad0001000 r--p 00000000 fd:01 1235                       /opt/bitcoin price scraper/bin/bitcoin-price-scraper (deleted)",
    ];

    [Fact]
    public void Only_the_read_only_mappings_of_the_executable_are_handed_back()
    {
        var mappings = ProcessMemory.ReadOnlyMappings(Maps, Executable).ToList();

        Assert.Equal([(0x5581cbe00000UL, 0x200000UL), (0x5581cc000000UL, 0xc00000UL)], mappings);
    }
}
