using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Verge.ApiServer.Http;
using Verge.Core.Meta;
using Verge.Core.Serialization;

namespace Verge.ApiServer.Registry;

/// <summary>
/// Encodes objects for the store and decodes them back. Stored bytes never contain
/// <c>metadata.resourceVersion</c>: it is the store's modification revision of the key and is spliced into the
/// bytes on the way out (<see cref="WithResourceVersion"/>), so a watch event or a list item is encoded once and
/// shared by every reader.
/// </summary>
internal static class ObjectCodec
{
    private static readonly byte[] MetadataOpen = "\"metadata\":{"u8.ToArray();

    public static string Key(ResourceType type, string? ns, string name) =>
        ns is null ? $"/registry/{type.GroupResource}/{name}" : $"/registry/{type.GroupResource}/{ns}/{name}";

    public static string Prefix(ResourceType type, string? ns) =>
        ns is null ? $"/registry/{type.GroupResource}/" : $"/registry/{type.GroupResource}/{ns}/";

    /// <summary>The bytes to store: the object without its resourceVersion.</summary>
    public static byte[] Encode(ResourceType type, KubeObject obj)
    {
        var version = obj.Metadata.ResourceVersion;
        obj.Metadata.ResourceVersion = null;
        obj.ApiVersion = type.ApiVersion;
        obj.Kind = type.Kind;
        try
        {
            return JsonSerializer.SerializeToUtf8Bytes(obj, type.TypeInfo);
        }
        finally
        {
            obj.Metadata.ResourceVersion = version;
        }
    }

    /// <summary>The typed object stored under a key, with its resourceVersion set.</summary>
    public static KubeObject Decode(ResourceType type, ReadOnlySpan<byte> stored, long revision)
    {
        var obj = (KubeObject?)JsonSerializer.Deserialize(stored, type.TypeInfo)
            ?? throw ApiException.Internal("stored object is null");
        obj.Metadata.ResourceVersion = revision.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return obj;
    }

    /// <summary>Stored bytes with <c>"resourceVersion":"N"</c> inserted as the first field of metadata.</summary>
    public static byte[] WithResourceVersion(ReadOnlySpan<byte> stored, long revision)
    {
        var at = stored.IndexOf(MetadataOpen);
        if (at < 0)
        {
            throw ApiException.Internal("stored object has no metadata");
        }

        at += MetadataOpen.Length;
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(revision, digits, out var written);
        var empty = stored[at] == (byte)'}';
        var extra = "\"resourceVersion\":\"".Length + written + 1 + (empty ? 0 : 1);
        var result = new byte[stored.Length + extra];
        stored[..at].CopyTo(result);
        var span = result.AsSpan(at);
        "\"resourceVersion\":\""u8.CopyTo(span);
        span = span["\"resourceVersion\":\"".Length..];
        digits[..written].CopyTo(span);
        span = span[written..];
        span[0] = (byte)'"';
        span = span[1..];
        if (!empty)
        {
            span[0] = (byte)',';
            span = span[1..];
        }

        stored[at..].CopyTo(span);
        return result;
    }

    /// <summary>A deep copy of a typed object through the kind's UTF-8 contract.</summary>
    public static KubeObject Copy(ResourceType type, KubeObject obj) => (KubeObject)Copy(obj, type.TypeInfo);

    /// <summary>A deep copy of a value (an object or one of its fields) through its UTF-8 contract.</summary>
    public static object Copy(object value, JsonTypeInfo info) =>
        JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(value, info), info)
            ?? throw ApiException.Internal("an object copied to null");

    /// <summary>Serializes a typed object for a response (its resourceVersion included).</summary>
    public static byte[] Serialize(ResourceType type, KubeObject obj) => JsonSerializer.SerializeToUtf8Bytes(obj, type.TypeInfo);

    public static JsonObject ToNode(ResourceType type, KubeObject obj) =>
        JsonSerializer.SerializeToNode(obj, type.TypeInfo)!.AsObject();

    /// <summary>
    /// Turns a JSON tree into the kind's typed object. With <paramref name="strict"/>, unknown fields are a 400, as
    /// with Kubernetes' fieldValidation=Strict; otherwise they are dropped and reported through
    /// <paramref name="unknownField"/> (for fieldValidation=Warn).
    /// </summary>
    public static KubeObject FromNode(ResourceType type, JsonNode node, bool strict, Action<string>? unknownField = null)
    {
        if (node is JsonObject obj)
        {
            NullPruner.Prune(obj, type.TypeInfo);
        }

        if (strict || unknownField is not null)
        {
            try
            {
                return Deserialize(type, node, VergeJson.StrictOptions);
            }
            catch (JsonException e) when (IsUnknownMember(e))
            {
                // The serializer stops at the first unknown member; Kubernetes names them all.
                var fields = new List<string>();
                UnknownFields(node, VergeJson.StrictOptions.GetTypeInfo(type.TypeInfo.Type), "", fields);
                if (fields.Count == 0)
                {
                    fields.Add(FieldOf(e));
                }

                if (strict)
                {
                    throw ApiException.BadRequest($"{type.Kind} in version \"{type.Version}\" cannot be handled as a {type.Kind}: strict decoding error: "
                        + string.Join(", ", fields.Select(f => $"unknown field \"{f}\"")));
                }

                foreach (var field in fields)
                {
                    unknownField!($"unknown field \"{field}\"");
                }
            }
        }

        return Deserialize(type, node, VergeJson.Options);
    }

    /// <summary>
    /// The members of <paramref name="node"/> that <paramref name="info"/> does not declare, as Kubernetes' strict
    /// decoding paths (<c>spec.containers[0].foo</c>), in the order they come; values with their own converter
    /// (quantities, int-or-string) are not looked into.
    /// </summary>
    private static void UnknownFields(JsonNode? node, JsonTypeInfo info, string path, List<string> found)
    {
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object when node is JsonObject obj:
                foreach (var (name, value) in obj)
                {
                    var member = path.Length == 0 ? name : path + "." + name;
                    var property = info.Properties.FirstOrDefault(p => p.Name == name);
                    if (property is null)
                    {
                        if (!info.Properties.Any(p => p.IsExtensionData))
                        {
                            found.Add(member);
                        }
                    }
                    else if (value is not null)
                    {
                        UnknownFields(value, info.Options.GetTypeInfo(property.PropertyType), member, found);
                    }
                }

                break;
            case JsonTypeInfoKind.Enumerable when node is JsonArray array && info.ElementType is { } element:
                var elementInfo = info.Options.GetTypeInfo(element);
                for (var i = 0; i < array.Count; i++)
                {
                    UnknownFields(array[i], elementInfo, $"{path}[{i}]", found);
                }

                break;
            case JsonTypeInfoKind.Dictionary when node is JsonObject map && info.ElementType is { } valueType:
                var valueInfo = info.Options.GetTypeInfo(valueType);
                foreach (var (key, value) in map)
                {
                    UnknownFields(value, valueInfo, path + "." + key, found);
                }

                break;
        }
    }

    private static KubeObject Deserialize(ResourceType type, JsonNode node, JsonSerializerOptions options)
    {
        try
        {
            var info = options.GetTypeInfo(type.TypeInfo.Type);
            return (KubeObject?)node.Deserialize(info) ?? throw ApiException.BadRequest("the object is null");
        }
        catch (JsonException e) when (!IsUnknownMember(e))
        {
            throw ApiException.BadRequest(
                $"{type.Kind} in version \"{type.Version}\" cannot be handled as a {type.Kind}: {FieldOf(e)}: {Describe(e)}");
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
        {
            throw ApiException.BadRequest(
                $"{type.Kind} in version \"{type.Version}\" cannot be handled as a {type.Kind}: {e.Message}");
        }
    }

    private static bool IsUnknownMember(JsonException e) =>
        e.Message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal);

    /// <summary>The Kubernetes-style field path of a JSON error: <c>$.spec.foo</c> becomes <c>spec.foo</c>.</summary>
    private static string FieldOf(JsonException e)
    {
        var path = e.Path ?? "$";
        if (IsUnknownMember(e))
        {
            // For an unmapped member the path is the containing object; the member's name is quoted in the message.
            var start = e.Message.IndexOf('\'', StringComparison.Ordinal);
            var end = start < 0 ? -1 : e.Message.IndexOf('\'', start + 1);
            if (start >= 0 && end > start)
            {
                var member = e.Message[(start + 1)..end];
                if (!path.EndsWith("." + member, StringComparison.Ordinal) && !path.EndsWith($"['{member}']", StringComparison.Ordinal))
                {
                    path = path + "." + member;
                }
            }
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    private static string Describe(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0)
        {
            message = message[..cut];
        }

        const string Prefix = "The JSON value could not be converted to ";
        if (message.StartsWith(Prefix, StringComparison.Ordinal))
        {
            var clrType = message[Prefix.Length..].TrimEnd('.');
            if (clrType.StartsWith("System.Nullable`1[", StringComparison.Ordinal))
            {
                clrType = clrType["System.Nullable`1[".Length..].TrimEnd(']');
            }
            var wanted = clrType switch
            {
                "System.String" => "a string",
                "System.Int32" => "an int32",
                "System.Int64" => "an int64",
                "System.Boolean" => "a boolean",
                "System.Double" => "a number",
                _ when clrType.StartsWith("System.Collections.Generic.List", StringComparison.Ordinal) => "a list",
                _ when clrType.StartsWith("System.Collections.Generic.Dictionary", StringComparison.Ordinal) => "a map",
                _ => "an object",
            };
            return $"the value must be {wanted}";
        }

        return message;
    }

}
