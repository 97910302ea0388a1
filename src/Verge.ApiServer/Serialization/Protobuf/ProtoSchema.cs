using System.Collections.Frozen;

namespace Verge.ApiServer.Serialization.Protobuf;

/// <summary>How a protobuf field turns into JSON.</summary>
internal enum ProtoKind
{
    /// <summary>A string (wire type 2).</summary>
    String,

    /// <summary>A varint read as a signed 32-bit number.</summary>
    Int32,

    /// <summary>A varint read as a signed 64-bit number.</summary>
    Int64,

    /// <summary>A varint read as true (non-zero) or false.</summary>
    Bool,

    /// <summary>Bytes, written as a base64 string as Go's encoding/json does.</summary>
    Bytes,

    /// <summary>A nested message, written as a JSON object under the field's name.</summary>
    Message,

    /// <summary>A nested message whose fields are written into the parent object (a Go struct embedded with <c>json:",inline"</c>).</summary>
    Inline,

    /// <summary>meta/v1 Time {1: seconds, 2: nanos}, written as RFC 3339 to the second; an empty one is Go's zero time and is left out.</summary>
    Time,

    /// <summary>intstr.IntOrString {1: type, 2: intVal, 3: strVal}, written as a number or a string.</summary>
    IntOrString,

    /// <summary>resource.Quantity {1: string}, written as the string.</summary>
    Quantity,

    /// <summary>map&lt;string, string&gt;: repeated entries {1: key, 2: value}.</summary>
    StringMap,

    /// <summary>map&lt;string, bytes&gt;, with base64 values.</summary>
    BytesMap,

    /// <summary>map&lt;string, Quantity&gt;.</summary>
    QuantityMap,

    /// <summary>meta/v1 FieldsV1 {1: raw JSON bytes}, written as the JSON it holds.</summary>
    FieldsV1,
}

/// <summary>
/// One field of a message. Kubernetes' messages are proto2 and generated from Go structs, so presence follows Go:
/// a field that is a Go value with <c>omitempty</c> is always on the wire (the generator writes zero values too) but
/// kubectl's JSON leaves zero values out; a Go pointer, or a field without <c>omitempty</c>, is written to JSON
/// whenever it is on the wire, zero or not (<see cref="KeepZero"/>). Nested messages, maps and lists are written
/// whenever they are present.
/// </summary>
internal sealed class ProtoField(int number, string jsonName, ProtoKind kind, bool repeated, bool keepZero, string? messageName)
{
    public int Number { get; } = number;

    /// <summary>The JSON property; empty for <see cref="ProtoKind.Inline"/>.</summary>
    public string JsonName { get; } = jsonName;

    public ProtoKind Kind { get; } = kind;

    public bool Repeated { get; } = repeated;

    public bool KeepZero { get; } = keepZero;

    public string? MessageName { get; } = messageName;

    /// <summary>The nested message for <see cref="ProtoKind.Message"/> and <see cref="ProtoKind.Inline"/>, set when the schema is resolved.</summary>
    public ProtoMessage? Message { get; internal set; }

    public WireType ExpectedWire => Kind is ProtoKind.Int32 or ProtoKind.Int64 or ProtoKind.Bool
        ? WireType.Varint
        : WireType.LengthDelimited;
}

/// <summary>A message: its name (as in Kubernetes' generated.proto) and its fields by number.</summary>
internal sealed class ProtoMessage(string name, IEnumerable<ProtoField> fields)
{
    public string Name { get; } = name;

    public FrozenDictionary<int, ProtoField> Fields { get; } = fields.ToFrozenDictionary(f => f.Number);
}
