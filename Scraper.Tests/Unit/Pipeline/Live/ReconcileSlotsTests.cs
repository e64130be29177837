using Scraper.Domain;
using Scraper.Pipeline.Live;

namespace Scraper.Tests.Pipeline.Live;

public sealed class ReconcileSlotsTests
{
    private static readonly DateTimeOffset Anchor = new(2025, 1, 1, 0, 0, 30, TimeSpan.Zero);
    private static readonly LiveOptions Options = new() { ReconcileEvery = TimeSpan.FromHours(3) };

    private static SeriesKey Key(string market, int unit) => new(market, CandleUnit.FromMinutes(unit));

    [Fact]
    public void The_series_of_a_unit_take_evenly_spaced_slots_within_its_period_in_configuration_order()
    {
        SeriesKey[] series = [Key("KRW-A", 1), Key("KRW-A", 3), Key("KRW-B", 1), Key("KRW-C", 1), Key("KRW-B", 3)];
        var slots = new ReconcileSlots([.. series, new SeriesKey("KRW-A", CandleUnit.Day)], Options, Anchor);

        // Reconciled just over half a period before the anchor: the next slots are the first ones.
        var justOver = TimeSpan.FromSeconds(1);
        Assert.Equal([Anchor, Anchor.AddHours(1), Anchor.AddHours(2)], new[] { "KRW-A", "KRW-B", "KRW-C" }.Select(m => slots.Next(Key(m, 1), Anchor - TimeSpan.FromHours(1.5) - justOver)));
        Assert.Equal([Anchor, Anchor.AddHours(4.5)], new[] { "KRW-A", "KRW-B" }.Select(m => slots.Next(Key(m, 3), Anchor - TimeSpan.FromHours(4.5) - justOver)));
    }

    [Fact]
    public void A_series_is_next_reconciled_on_its_slot_at_least_half_a_period_later()
    {
        var b = Key("KRW-B", 1);
        var slots = new ReconcileSlots([Key("KRW-A", 1), b], Options, Anchor);

        Assert.Equal(Anchor.AddHours(4.5), slots.Next(b, Anchor.AddHours(1.5)));                 // reconciled on its slot: one period later
        Assert.Equal(Anchor.AddHours(4.5), slots.Next(b, Anchor.AddHours(2)));                   // the slot 2.5 h later is kept
        Assert.Equal(Anchor.AddHours(7.5), slots.Next(b, Anchor.AddHours(3).AddMinutes(1)));     // the one 1 h 29 min later is skipped
        Assert.Equal(Anchor.AddHours(1.5), slots.Next(b, Anchor.AddHours(-3)));                  // before the anchor
    }
}
