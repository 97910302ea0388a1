namespace Verge.ApiServer.Serialization.Protobuf;

/// <summary>The wire types of the protobuf encoding.</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>
/// Reads the protobuf wire format (varints, fixed 32/64-bit values and length-delimited fields) from a span, and
/// throws <see cref="FormatException"/> on anything malformed: truncated values, lengths past the end, varints longer
/// than ten bytes, field number 0, and the wire types 6 and 7 that do not exist. Groups (3 and 4) are refused: no
/// Kubernetes message uses them.
/// </summary>
internal ref struct WireReader(ReadOnlySpan<byte> data)
{
    private const int MaxFieldNumber = (1 << 29) - 1;

    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public readonly bool End => _position >= _data.Length;

    public readonly int Position => _position;

    public ulong ReadVarint()
    {
        var start = _position;
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _data.Length)
            {
                throw new FormatException($"truncated varint at byte {start}");
            }

            var b = _data[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new FormatException($"malformed varint at byte {start}: longer than 10 bytes");
    }

    /// <summary>A field's number and wire type.</summary>
    public (int Number, WireType Wire) ReadTag()
    {
        var start = _position;
        var tag = ReadVarint();
        var number = tag >> 3;
        var wire = (int)(tag & 7);
        if (number is 0 or > MaxFieldNumber)
        {
            throw new FormatException($"invalid field number {number} at byte {start}");
        }

        if (wire > 5)
        {
            throw new FormatException($"invalid wire type {wire} at byte {start}");
        }

        return ((int)number, (WireType)wire);
    }

    public ulong ReadFixed64()
    {
        var bytes = Take(8, "fixed64 value");
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    public uint ReadFixed32()
    {
        var bytes = Take(4, "fixed32 value");
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    /// <summary>The payload of a length-delimited field.</summary>
    public ReadOnlySpan<byte> ReadLengthDelimited()
    {
        var start = _position;
        var length = ReadVarint();
        var left = _data.Length - _position;
        if (length > (ulong)left)
        {
            throw new FormatException(
                $"length-delimited field at byte {start} claims {length} bytes but only {left} are left");
        }

        return Take((int)length, "length-delimited field");
    }

    /// <summary>Steps over a value of the given wire type.</summary>
    public void Skip(WireType wire)
    {
        switch (wire)
        {
            case WireType.Varint:
                ReadVarint();
                break;
            case WireType.Fixed64:
                Take(8, "fixed64 value");
                break;
            case WireType.LengthDelimited:
                ReadLengthDelimited();
                break;
            case WireType.Fixed32:
                Take(4, "fixed32 value");
                break;
            default:
                throw new FormatException($"protobuf groups (wire type {(int)wire}) are not supported");
        }
    }

    private ReadOnlySpan<byte> Take(int count, string what)
    {
        if (_data.Length - _position < count)
        {
            throw new FormatException($"truncated {what} at byte {_position}: {count} bytes needed, {_data.Length - _position} left");
        }

        var slice = _data.Slice(_position, count);
        _position += count;
        return slice;
    }
}
