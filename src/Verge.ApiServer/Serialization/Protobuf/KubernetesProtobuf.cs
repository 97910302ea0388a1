using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.Core.Meta;

namespace Verge.ApiServer.Serialization.Protobuf;

/// <summary>
/// Turns a request body in Kubernetes' protobuf encoding (<c>application/vnd.kubernetes.protobuf</c>) into the JSON
/// tree the client would have sent as JSON. kubectl v1.32's typed create commands (<c>create namespace</c>,
/// <c>create configmap</c>, <c>create secret</c>, <c>create deployment</c>) send only this encoding.
/// <para>
/// The body is the 4-byte magic <c>k8s\0</c> followed by a <c>runtime.Unknown</c> message {1: TypeMeta {1:
/// apiVersion, 2: kind}, 2: raw, 3: contentEncoding, 4: contentType}, where raw is the typed object's message. The
/// messages known here are in <see cref="KubernetesSchema"/>; field numbers they do not list are skipped, as protobuf
/// does, and those that held a value are reported through the <c>ignored</c> collection so the caller can turn them
/// into warnings.
/// </para>
/// </summary>
internal static class KubernetesProtobuf
{
    public const string MediaType = "application/vnd.kubernetes.protobuf";

    /// <summary>At most this many ignored fields are reported; a hostile body could otherwise produce thousands.</summary>
    public const int MaxIgnoredReported = 20;

    private static ReadOnlySpan<byte> Magic => "k8s\0"u8;

    /// <summary>Whether bodies of this kind can be decoded.</summary>
    public static bool Supports(ResourceType type) => KubernetesSchema.Kinds.ContainsKey((type.ApiVersion, type.Kind));

    /// <inheritdoc cref="Decode(ReadOnlySpan{byte}, ResourceType, ICollection{string}?)"/>
    public static JsonObject Decode(ReadOnlySpan<byte> body, ResourceType type) => Decode(body, type, null);

    /// <summary>
    /// Decodes a protobuf body. The kind is the one the body names in its TypeMeta, or <paramref name="type"/>'s
    /// when the TypeMeta is empty; <c>apiVersion</c> and <c>kind</c> are written into the result so that the caller's
    /// usual check against the URL applies. Throws <see cref="FormatException"/> with a message fit for a 400 when the
    /// body is malformed or of a kind that is not known here.
    /// </summary>
    /// <param name="ignored">Receives one sentence per skipped field (at most <see cref="MaxIgnoredReported"/>).</param>
    public static JsonObject Decode(ReadOnlySpan<byte> body, ResourceType type, ICollection<string>? ignored)
    {
        ArgumentNullException.ThrowIfNull(type);
        return Decode(body, type.ApiVersion, type.Kind, ignored);
    }

    /// <summary>
    /// As <see cref="Decode(ReadOnlySpan{byte}, ResourceType, ICollection{string}?)"/> for a body that is not an object
    /// of a resource (DeleteOptions, Eviction): <paramref name="apiVersion"/> and <paramref name="kind"/> stand in for
    /// an empty TypeMeta.
    /// </summary>
    public static JsonObject Decode(ReadOnlySpan<byte> body, string apiVersion, string kind, ICollection<string>? ignored)
    {
        if (!body.StartsWith(Magic))
        {
            throw new FormatException("the body is not Kubernetes protobuf: it does not start with the magic bytes \"k8s\\0\"");
        }

        var envelope = ReadEnvelope(body[Magic.Length..]);
        if (envelope.ContentEncoding.Length > 0)
        {
            throw new FormatException($"protobuf bodies with contentEncoding \"{envelope.ContentEncoding}\" are not supported");
        }

        if (envelope.ContentType.Length > 0 && envelope.ContentType != MediaType)
        {
            throw new FormatException($"protobuf bodies with contentType \"{envelope.ContentType}\" are not supported");
        }

        apiVersion = envelope.ApiVersion.Length > 0 ? envelope.ApiVersion : apiVersion;
        kind = envelope.Kind.Length > 0 ? envelope.Kind : kind;
        if (KubernetesSchema.MessageOf(apiVersion, kind) is not { } message)
        {
            throw new FormatException(
                $"protobuf bodies of kind {kind} ({apiVersion}) are not supported; send it as application/json or application/yaml");
        }

        var result = new JsonObject { ["kind"] = kind, ["apiVersion"] = apiVersion };
        var context = new Context(ignored);
        DecodeMessage(body.Slice(Magic.Length + envelope.RawOffset, envelope.RawLength), message, result, "", context);
        return result;
    }

    private readonly record struct Envelope(
        string ApiVersion, string Kind, int RawOffset, int RawLength, string ContentEncoding, string ContentType);

    /// <summary>runtime.Unknown; the raw object is returned as a range so that it is decoded in place.</summary>
    private static Envelope ReadEnvelope(ReadOnlySpan<byte> data)
    {
        var reader = new WireReader(data);
        string apiVersion = "", kind = "", encoding = "", contentType = "";
        int rawOffset = 0, rawLength = 0;
        while (!reader.End)
        {
            var (number, wire) = reader.ReadTag();
            switch (number)
            {
                case 1:
                    var typeMeta = new WireReader(Expect(ref reader, wire, "runtime.Unknown.typeMeta"));
                    while (!typeMeta.End)
                    {
                        var (n, w) = typeMeta.ReadTag();
                        switch (n)
                        {
                            case 1:
                                apiVersion = Utf8(Expect(ref typeMeta, w, "TypeMeta.apiVersion"));
                                break;
                            case 2:
                                kind = Utf8(Expect(ref typeMeta, w, "TypeMeta.kind"));
                                break;
                            default:
                                typeMeta.Skip(w);
                                break;
                        }
                    }

                    break;
                case 2:
                    var raw = Expect(ref reader, wire, "runtime.Unknown.raw");
                    rawOffset = reader.Position - raw.Length;
                    rawLength = raw.Length;
                    break;
                case 3:
                    encoding = Utf8(Expect(ref reader, wire, "runtime.Unknown.contentEncoding"));
                    break;
                case 4:
                    contentType = Utf8(Expect(ref reader, wire, "runtime.Unknown.contentType"));
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        return new Envelope(apiVersion, kind, rawOffset, rawLength, encoding, contentType);
    }

    private static ReadOnlySpan<byte> Expect(ref WireReader reader, WireType wire, string what) =>
        wire == WireType.LengthDelimited
            ? reader.ReadLengthDelimited()
            : throw new FormatException($"{what} has wire type {(int)wire}, expected 2 (length-delimited)");

    private sealed class Context(ICollection<string>? ignored)
    {
        private int _reported;

        public void Ignore(string path, ProtoMessage message, int number)
        {
            if (ignored is null || _reported >= MaxIgnoredReported)
            {
                return;
            }

            _reported++;
            var where = path.Length == 0 ? "the object" : path;
            ignored.Add($"unknown protobuf field {number} of {message.Name} in {where} was ignored");
        }
    }

    private static void DecodeMessage(ReadOnlySpan<byte> data, ProtoMessage message, JsonObject target, string path, Context context)
    {
        var reader = new WireReader(data);
        while (!reader.End)
        {
            var (number, wire) = reader.ReadTag();
            if (!message.Fields.TryGetValue(number, out var field))
            {
                if (SkipUnlessZero(ref reader, wire))
                {
                    context.Ignore(path, message, number);
                }

                continue;
            }

            if (field.Repeated && wire == WireType.LengthDelimited && field.ExpectedWire == WireType.Varint)
            {
                var packed = new WireReader(reader.ReadLengthDelimited());
                var array = ArrayOf(target, field.JsonName);
                while (!packed.End)
                {
                    array.Add(Scalar(ref packed, field));
                }

                continue;
            }

            if (wire != field.ExpectedWire)
            {
                throw new FormatException(
                    $"{Join(path, field.JsonName)} ({message.Name} field {number}) has wire type {(int)wire}, expected {(int)field.ExpectedWire}");
            }

            DecodeField(ref reader, message, field, target, path, context);
        }
    }

    /// <summary>
    /// Steps over an unknown field and answers whether it held a value. Kubernetes' generator writes every non-pointer
    /// field even when it is zero, so a newer client sends fields this schema does not list with zero values; those
    /// carry nothing that is lost and are not reported.
    /// </summary>
    private static bool SkipUnlessZero(ref WireReader reader, WireType wire)
    {
        switch (wire)
        {
            case WireType.Varint:
                return reader.ReadVarint() != 0;
            case WireType.LengthDelimited:
                return !reader.ReadLengthDelimited().IsEmpty;
            case WireType.Fixed32:
                return reader.ReadFixed32() != 0;
            case WireType.Fixed64:
                return reader.ReadFixed64() != 0;
            default:
                reader.Skip(wire);
                return true;
        }
    }

    private static void DecodeField(ref WireReader reader, ProtoMessage message, ProtoField field, JsonObject target, string path, Context context)
    {
        var name = field.JsonName;
        switch (field.Kind)
        {
            case ProtoKind.String or ProtoKind.Int32 or ProtoKind.Int64 or ProtoKind.Bool or ProtoKind.Bytes:
                var value = Scalar(ref reader, field);
                if (field.Repeated)
                {
                    ArrayOf(target, name).Add(value);
                }
                else if (field.KeepZero || !IsZero(value))
                {
                    target[name] = value;
                }
                else
                {
                    // A later zero overrides an earlier value, and Go's omitempty then leaves it out.
                    target.Remove(name);
                }

                break;
            case ProtoKind.Inline:
                DecodeMessage(reader.ReadLengthDelimited(), field.Message!, target, path, context);
                break;
            case ProtoKind.Message when field.Repeated:
                var items = ArrayOf(target, name);
                var item = new JsonObject();
                items.Add(item);
                DecodeMessage(reader.ReadLengthDelimited(), field.Message!, item, $"{Join(path, name)}[{items.Count - 1}]", context);
                break;
            case ProtoKind.Message:
                // A message field that occurs twice is merged, as protobuf does.
                if (target[name] is not JsonObject nested)
                {
                    nested = [];
                    target[name] = nested;
                }

                DecodeMessage(reader.ReadLengthDelimited(), field.Message!, nested, Join(path, name), context);
                break;
            case ProtoKind.Time:
                var time = ReadTime(reader.ReadLengthDelimited(), Join(path, name));
                if (time is null)
                {
                    target.Remove(name);
                }
                else
                {
                    target[name] = time;
                }

                break;
            case ProtoKind.IntOrString:
                target[name] = ReadIntOrString(reader.ReadLengthDelimited(), Join(path, name));
                break;
            case ProtoKind.Quantity:
                target[name] = ReadQuantity(reader.ReadLengthDelimited(), Join(path, name));
                break;
            case ProtoKind.StringMap or ProtoKind.BytesMap or ProtoKind.QuantityMap:
                var map = target[name] as JsonObject;
                if (map is null)
                {
                    map = [];
                    target[name] = map;
                }

                var (key, entry) = ReadMapEntry(reader.ReadLengthDelimited(), field.Kind, Join(path, name));
                map[key] = entry;
                break;
            case ProtoKind.FieldsV1:
                var fields = ReadFieldsV1(reader.ReadLengthDelimited(), Join(path, name));
                if (fields is null)
                {
                    target.Remove(name);
                }
                else
                {
                    target[name] = fields;
                }

                break;
            default:
                throw new InvalidOperationException($"{message.Name}.{name} has kind {field.Kind}, which the decoder does not handle");
        }
    }

    private static JsonValue Scalar(ref WireReader reader, ProtoField field) => field.Kind switch
    {
        ProtoKind.String => JsonValue.Create(Utf8(reader.ReadLengthDelimited())),
        ProtoKind.Bytes => JsonValue.Create(Convert.ToBase64String(reader.ReadLengthDelimited())),
        ProtoKind.Int32 => JsonValue.Create(unchecked((int)reader.ReadVarint())),
        ProtoKind.Int64 => JsonValue.Create(unchecked((long)reader.ReadVarint())),
        ProtoKind.Bool => JsonValue.Create(reader.ReadVarint() != 0),
        _ => throw new InvalidOperationException($"{field.Kind} is not a scalar"),
    };

    private static bool IsZero(JsonValue value) => value.GetValueKind() switch
    {
        JsonValueKind.String => value.GetValue<string>().Length == 0,
        JsonValueKind.False => true,
        JsonValueKind.Number => value.TryGetValue<int>(out var i) ? i == 0 : value.GetValue<long>() == 0,
        _ => false,
    };

    /// <summary>
    /// meta/v1 Time: an empty message is Go's zero time, which encoding/json writes as null (left out here). Like
    /// Kubernetes, only the seconds are used: JSON times have no fraction.
    /// </summary>
    private static JsonValue? ReadTime(ReadOnlySpan<byte> data, string path)
    {
        if (data.IsEmpty)
        {
            return null;
        }

        long seconds = 0;
        var reader = new WireReader(data);
        while (!reader.End)
        {
            var (number, wire) = reader.ReadTag();
            if (number == 1 && wire == WireType.Varint)
            {
                seconds = unchecked((long)reader.ReadVarint());
            }
            else
            {
                reader.Skip(wire);
            }
        }

        if (seconds < DateTimeOffset.MinValue.ToUnixTimeSeconds() || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            throw new FormatException($"{path}: time {seconds} seconds from the Unix epoch is out of range");
        }

        var text = DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return JsonValue.Create(text);
    }

    private static JsonValue ReadIntOrString(ReadOnlySpan<byte> data, string path)
    {
        long type = 0;
        var intValue = 0;
        var stringValue = "";
        var reader = new WireReader(data);
        while (!reader.End)
        {
            var (number, wire) = reader.ReadTag();
            switch (number)
            {
                case 1 when wire == WireType.Varint:
                    type = unchecked((long)reader.ReadVarint());
                    break;
                case 2 when wire == WireType.Varint:
                    intValue = unchecked((int)reader.ReadVarint());
                    break;
                case 3 when wire == WireType.LengthDelimited:
                    stringValue = Utf8(reader.ReadLengthDelimited());
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        return type switch
        {
            0 => JsonValue.Create(intValue),
            1 => JsonValue.Create(stringValue),
            _ => throw new FormatException($"{path}: IntOrString has type {type}; only 0 (int) and 1 (string) exist"),
        };
    }

    private static JsonValue ReadQuantity(ReadOnlySpan<byte> data, string path)
    {
        var text = "";
        var reader = new WireReader(data);
        while (!reader.End)
        {
            var (number, wire) = reader.ReadTag();
            if (number == 1)
            {
                text = Utf8(Expect(ref reader, wire, $"{path} (Quantity.string)"));
            }
            else
            {
                reader.Skip(wire);
            }
        }

        // Go's zero Quantity is written as "0".
        return JsonValue.Create(text.Length == 0 ? "0" : text);
    }

    private static (string Key, JsonNode Value) ReadMapEntry(ReadOnlySpan<byte> data, ProtoKind kind, string path)
    {
        var key = "";
        JsonNode? value = null;
        var reader = new WireReader(data);
        while (!reader.End)
        {
            var (number, wire) = reader.ReadTag();
            switch (number)
            {
                case 1:
                    key = Utf8(Expect(ref reader, wire, $"{path} (map key)"));
                    break;
                case 2:
                    var bytes = Expect(ref reader, wire, $"{path} (map value)");
                    value = kind switch
                    {
                        ProtoKind.StringMap => JsonValue.Create(Utf8(bytes)),
                        ProtoKind.BytesMap => JsonValue.Create(Convert.ToBase64String(bytes)),
                        _ => ReadQuantity(bytes, $"{path}.{key}"),
                    };
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        value ??= kind == ProtoKind.QuantityMap ? JsonValue.Create("0") : JsonValue.Create("");
        return (key, value);
    }

    /// <summary>meta/v1 FieldsV1 {1: Raw}: the raw bytes are JSON; a missing Raw is Go's nil, written as null (left out).</summary>
    private static JsonNode? ReadFieldsV1(ReadOnlySpan<byte> data, string path)
    {
        var reader = new WireReader(data);
        JsonNode? result = null;
        while (!reader.End)
        {
            var (number, wire) = reader.ReadTag();
            if (number != 1)
            {
                reader.Skip(wire);
                continue;
            }

            var raw = Expect(ref reader, wire, $"{path} (FieldsV1.Raw)");
            try
            {
                result = raw.IsEmpty ? null : JsonNode.Parse(raw, documentOptions: new JsonDocumentOptions { MaxDepth = YamlReader.MaxDepth });
            }
            catch (JsonException e)
            {
                throw new FormatException($"{path}: FieldsV1 is not valid JSON: {e.Message}", e);
            }
        }

        return result;
    }

    private static JsonArray ArrayOf(JsonObject target, string name)
    {
        if (target[name] is JsonArray array)
        {
            return array;
        }

        array = [];
        target[name] = array;
        return array;
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>Strings are decoded as Go's encoding/json writes them: invalid UTF-8 becomes U+FFFD.</summary>
    private static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
