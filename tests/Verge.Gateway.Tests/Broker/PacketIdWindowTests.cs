using Verge.Gateway.Broker;

namespace Verge.Gateway.Tests.Broker;

public sealed class PacketIdWindowTests
{
    [Fact]
    public void Identifiers_GoOutInSequence_WrapPastTheLast_AndNeverUseZero()
    {
        var window = new PacketIdWindow();
        var seen = new List<ushort>();
        for (var i = 0; i < 70_000; i++)
        {
            var id = window.Take(PacketOwner.Direct);
            seen.Add(id);
            Assert.Equal(PacketOwner.Direct, window.Release(id));
        }

        Assert.DoesNotContain((ushort)0, seen);
        Assert.Equal(Enumerable.Range(1, 65_535).Select(i => (ushort)i), seen.Take(65_535));
        Assert.Equal((ushort)1, seen[65_535]);
        Assert.Equal(0, window.InFlight);
    }

    [Fact]
    public void OutOfOrderReleases_AcrossGrowthAndWrap_KeepEveryOtherIdentifierInFlight()
    {
        var window = new PacketIdWindow();

        // Move close to the wrap, then hold a few thousand in flight across it (the bit array grows meanwhile).
        for (var i = 0; i < 64_000; i++)
        {
            window.Release(window.Take(PacketOwner.Direct));
        }

        var random = new Random(7);
        var inFlight = new HashSet<ushort>();
        for (var step = 0; step < 20_000; step++)
        {
            if (inFlight.Count == 0 || random.Next(3) > 0)
            {
                var id = window.Take(step % 10 == 0 ? PacketOwner.Server : PacketOwner.Direct);
                Assert.NotEqual((ushort)0, id);
                Assert.True(inFlight.Add(id), $"identifier {id} handed out while in flight");
            }
            else
            {
                var id = inFlight.ElementAt(random.Next(inFlight.Count));
                Assert.NotEqual(PacketOwner.None, window.Release(id));
                inFlight.Remove(id);
                Assert.Equal(PacketOwner.None, window.Release(id));
            }

            Assert.Equal(inFlight.Count, window.InFlight);
        }
    }

    [Fact]
    public void Release_SaysWhosePacketItWas_AndIgnoresIdentifiersNotInFlight()
    {
        var window = new PacketIdWindow();
        var direct = window.Take(PacketOwner.Direct);
        var server = window.Take(PacketOwner.Server);

        Assert.Equal(PacketOwner.None, window.Release(0));
        Assert.Equal(PacketOwner.None, window.Release(500));
        Assert.Equal(PacketOwner.Server, window.Release(server));
        Assert.Equal(PacketOwner.None, window.Release(server));
        Assert.Equal(PacketOwner.Direct, window.Release(direct));
    }

    [Fact]
    public void AFullWindow_RefusesUntilAnIdentifierIsReleased_AndAStuckOldestOneHoldsItShut()
    {
        var window = new PacketIdWindow();
        var first = window.Take(PacketOwner.Direct);
        for (var i = 1; i < PacketIdWindow.MaxInFlight; i++)
        {
            Assert.NotEqual((ushort)0, window.Take(PacketOwner.Direct));
        }

        Assert.Equal((ushort)0, window.Take(PacketOwner.Direct));
        Assert.Equal((ushort)0, window.Take(PacketOwner.Server));

        // Everything but the oldest acknowledged: the span from it to the next would pass half the identifier space.
        for (var id = first + 1; id <= PacketIdWindow.MaxInFlight; id++)
        {
            window.Release((ushort)id);
        }

        Assert.Equal(1, window.InFlight);
        Assert.Equal((ushort)0, window.Take(PacketOwner.Direct));
        Assert.Equal(PacketOwner.Direct, window.Release(first));
        Assert.Equal((ushort)(PacketIdWindow.MaxInFlight + 1), window.Take(PacketOwner.Direct));
    }
}
