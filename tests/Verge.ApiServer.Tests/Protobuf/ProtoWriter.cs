using System.Text;

namespace Verge.ApiServer.Tests.Protobuf;

/// <summary>Writes the protobuf wire format for tests: hand-built bodies with exactly the fields a test needs.</summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _buffer = new();

    public byte[] ToArray() => _buffer.ToArray();

    public ProtoWriter Varint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        _buffer.WriteByte((byte)value);
        return this;
    }

    public ProtoWriter Tag(int number, int wire) => Varint(((ulong)number << 3) | (uint)wire);

    public ProtoWriter Int(int number, long value) => Tag(number, 0).Varint(unchecked((ulong)value));

    public ProtoWriter Bool(int number, bool value) => Int(number, value ? 1 : 0);

    public ProtoWriter Bytes(int number, byte[] value)
    {
        Tag(number, 2).Varint((ulong)value.Length);
        _buffer.Write(value);
        return this;
    }

    public ProtoWriter String(int number, string value) => Bytes(number, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Message(int number, Action<ProtoWriter> body)
    {
        var nested = new ProtoWriter();
        body(nested);
        return Bytes(number, nested.ToArray());
    }

    /// <summary>A map entry {1: key, 2: value}.</summary>
    public ProtoWriter Entry(int number, string key, string value) => Message(number, e => e.String(1, key).String(2, value));

    /// <summary>The Kubernetes protobuf envelope: magic, then runtime.Unknown {1: TypeMeta, 2: raw, 3: "", 4: ""}.</summary>
    public static byte[] Body(string apiVersion, string kind, Action<ProtoWriter> raw)
    {
        var unknown = new ProtoWriter()
            .Message(1, t => t.String(1, apiVersion).String(2, kind))
            .Message(2, raw)
            .String(3, "")
            .String(4, "");
        return [.. "k8s\0"u8, .. unknown.ToArray()];
    }
}
