using Verge.ApiServer.Serialization.Protobuf;

namespace Verge.ApiServer.Tests.Protobuf;

public class WireReaderTests
{
    private static ulong Varint(params byte[] bytes) => new WireReader(bytes).ReadVarint();

    [Fact]
    public void Varint_ReadsOneAndManyBytes()
    {
        Assert.Equal(0UL, Varint(0x00));
        Assert.Equal(127UL, Varint(0x7F));
        Assert.Equal(8080UL, Varint(0x90, 0x3F));
        Assert.Equal(300UL, Varint(0xAC, 0x02));
    }

    [Fact]
    public void Varint_OfANegativeInt32_IsTenBytesThatCastBack()
    {
        var bytes = new ProtoWriter().Varint(unchecked((ulong)-1L)).ToArray();
        Assert.Equal(10, bytes.Length);
        Assert.Equal(-1, unchecked((int)new WireReader(bytes).ReadVarint()));
    }

    [Fact]
    public void Varint_Truncated_IsAFormatException()
    {
        var e = Assert.Throws<FormatException>(() => Varint(0x90));
        Assert.Contains("truncated varint", e.Message);
    }

    [Fact]
    public void Varint_LongerThanTenBytes_IsAFormatException()
    {
        var e = Assert.Throws<FormatException>(() => Varint(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01));
        Assert.Contains("longer than 10 bytes", e.Message);
    }

    [Fact]
    public void LengthDelimited_PastTheEnd_IsAFormatException()
    {
        var e = Assert.Throws<FormatException>(() => new WireReader([0x05, 0x61, 0x62]).ReadLengthDelimited().ToArray());
        Assert.Contains("claims 5 bytes but only 2 are left", e.Message);
    }

    [Fact]
    public void LengthDelimited_WithAHugeLength_IsAFormatException()
    {
        var bytes = new ProtoWriter().Varint(ulong.MaxValue).ToArray();
        Assert.Throws<FormatException>(() => new WireReader(bytes).ReadLengthDelimited().ToArray());
    }

    [Theory]
    [InlineData(new byte[] { 0x00 }, "invalid field number 0")]
    [InlineData(new byte[] { 0x0E }, "invalid wire type 6")]
    [InlineData(new byte[] { 0x0F }, "invalid wire type 7")]
    public void Tag_Invalid_IsAFormatException(byte[] bytes, string message)
    {
        var e = Assert.Throws<FormatException>(() => new WireReader(bytes).ReadTag());
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Skip_StepsOverEveryWireTypeAndRefusesGroups()
    {
        var bytes = new ProtoWriter()
            .Int(1, 300)
            .Tag(2, 1).Varint(0).Varint(0).Varint(0).Varint(0).Varint(0).Varint(0).Varint(0).Varint(0)
            .String(3, "abc")
            .Tag(4, 5).Varint(0).Varint(0).Varint(0).Varint(0)
            .Tag(5, 3)
            .ToArray();
        var reader = new WireReader(bytes);
        for (var i = 1; i <= 4; i++)
        {
            var (number, wire) = reader.ReadTag();
            Assert.Equal(i, number);
            reader.Skip(wire);
        }

        var (_, group) = reader.ReadTag();
        var caught = false;
        try
        {
            reader.Skip(group);
        }
        catch (FormatException e)
        {
            caught = e.Message.Contains("groups");
        }

        Assert.True(caught);
    }

    [Fact]
    public void Fixed_Truncated_IsAFormatException()
    {
        Assert.Throws<FormatException>(() => new WireReader([1, 2, 3]).ReadFixed32());
        Assert.Throws<FormatException>(() => new WireReader([1, 2, 3, 4, 5, 6, 7]).ReadFixed64());
        Assert.Equal(0x04030201u, new WireReader([1, 2, 3, 4]).ReadFixed32());
    }
}
