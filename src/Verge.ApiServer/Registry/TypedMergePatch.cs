using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Verge.Core.Meta;
using Verge.Core.Serialization;

namespace Verge.ApiServer.Registry;

/// <summary>
/// A JSON merge patch (RFC 7386) applied straight to the typed object, for the patches that are most of a busy
/// cluster's writes: lease renewals and status reports. The general path turns the stored object into a JSON tree,
/// merges, prunes nulls and decodes the tree again; here the patch's fields are set on the object's properties.
/// Only patches whose meaning is plain on the typed object are taken: objects merge into typed objects field by
/// field, scalars and arrays replace (arrays are replaced whole by a merge patch), null clears a nullable field.
/// Anything else (metadata, maps, free-form JSON, an unknown field beyond the one a lenient write may drop, a value
/// that does not decode strictly) gives no plan, and the caller takes the general path, which also reports the errors.
/// </summary>
internal static class TypedMergePatch
{
    /// <summary>
    /// What <paramref name="patch"/> would set on <paramref name="target"/>, worked out without changing it (so a
    /// caller can keep a copy of the object as it was only when the patch is taken), or null when the patch is not
    /// one this path takes. With <paramref name="dropUnknown"/> (a write whose field validation is not Strict) one
    /// field the kind does not have, set to a value in an object the patch merges into, is left out as the general
    /// path's lenient decode leaves it out, and named in <paramref name="unknownField"/> (dotted, as that path's
    /// warning names it) for the caller to warn about. A patch with more than one such field, or one inside a value
    /// that replaces a field whole, is left to the general path, whose warning names the first it meets.
    /// </summary>
    public static Assignments? TryPlan(ResourceType type, KubeObject target, JsonNode patch, bool dropUnknown, out string? unknownField)
    {
        unknownField = null;
        if (patch is not JsonObject fields || fields.Count == 0
            || fields.ContainsKey("metadata") || fields.ContainsKey("apiVersion") || fields.ContainsKey("kind"))
        {
            return null;
        }

        var strict = VergeJson.StrictOptions.GetTypeInfo(type.TypeInfo.Type);
        var root = new Level(strict);
        var unknown = dropUnknown ? new Unknown() : null;
        if (!Plan(strict, target, fields, root, 0, unknown, "") || !Copyable(VergeJson.StrictOptions.GetTypeInfo(typeof(ObjectMeta))))
        {
            return null;
        }

        unknownField = unknown?.Field;
        return new Assignments(root, target);
    }

    /// <summary>The one unknown field a lenient plan may leave out.</summary>
    private sealed class Unknown
    {
        public string? Field { get; set; }
    }

    /// <summary>One object the patch merges into: the fields it sets there and the objects inside it it merges into.</summary>
    internal sealed class Level(JsonTypeInfo info)
    {
        public JsonTypeInfo Info { get; } = info;

        public List<(JsonPropertyInfo Property, object? Value)> Sets { get; } = [];

        public List<(JsonPropertyInfo Property, Level Inner)> Merges { get; } = [];
    }

    /// <summary>A patch's assignments, every one worked out before any is made.</summary>
    internal sealed class Assignments
    {
        private readonly Level _root;
        private readonly KubeObject _target;

        public Assignments(Level root, KubeObject target) => (_root, _target) = (root, target);

        /// <summary>Sets the patch's fields on the object it was planned for.</summary>
        public void Apply() => Apply(_target, _root);

        /// <summary>
        /// The object it was planned for with the patch's fields set, leaving that object as it was: the objects the
        /// patch changes (and metadata, which a write changes) are shallow copies; everything else is shared with it.
        /// A caller that decoded the stored object for the patch needs no second decode to change.
        /// </summary>
        public KubeObject ApplyToCopy()
        {
            var copy = (KubeObject)Copy(_target, _root);
            copy.Metadata = (ObjectMeta)ShallowCopy(_target.Metadata, MetadataInfo);
            return copy;
        }

        private static void Apply(object owner, Level level)
        {
            foreach (var (property, value) in level.Sets)
            {
                property.Set!(owner, value);
            }

            foreach (var (property, inner) in level.Merges)
            {
                Apply(property.Get!(owner)!, inner);
            }
        }

        private static object Copy(object owner, Level level)
        {
            var copy = ShallowCopy(owner, level.Info);
            foreach (var (property, value) in level.Sets)
            {
                property.Set!(copy, value);
            }

            foreach (var (property, inner) in level.Merges)
            {
                property.Set!(copy, Copy(property.Get!(owner)!, inner));
            }

            return copy;
        }
    }

    private static readonly JsonTypeInfo MetadataInfo = VergeJson.StrictOptions.GetTypeInfo(typeof(ObjectMeta));

    /// <summary>
    /// A new object sharing everything with <paramref name="obj"/> below its top level and its metadata's fields, which
    /// are its own: what a write may set on it (resourceVersion) leaves <paramref name="obj"/> as it is. Null when the
    /// kind's contract cannot make one.
    /// </summary>
    internal static KubeObject? TopLevelCopy(ResourceType type, KubeObject obj)
    {
        if (!Copyable(type.TypeInfo) || !Copyable(MetadataInfo))
        {
            return null;
        }

        var copy = (KubeObject)ShallowCopy(obj, type.TypeInfo);
        copy.Metadata = (ObjectMeta)ShallowCopy(obj.Metadata, MetadataInfo);
        return copy;
    }

    /// <summary>A new object of the contract's type with every property the contract reads and writes set from <paramref name="value"/>.</summary>
    internal static object ShallowCopy(object value, JsonTypeInfo info)
    {
        var copy = info.CreateObject!();
        foreach (var property in info.Properties)
        {
            property.Set!(copy, property.Get!(value));
        }

        return copy;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<JsonTypeInfo, object> CopyableTypes = new();

    /// <summary>Whether <see cref="ShallowCopy"/> copies every field of the contract's type: it can make one, and reads and writes every property.</summary>
    internal static bool Copyable(JsonTypeInfo info) =>
        (bool)CopyableTypes.GetValue(info, static i => i.Kind == JsonTypeInfoKind.Object && i.CreateObject is not null
            && i.Properties.All(p => p.Get is not null && p.Set is not null));

    /// <summary>Works out every assignment first, so a patch that cannot be taken changes nothing.</summary>
    private static bool Plan(JsonTypeInfo info, object target, JsonObject patch, Level plan, int depth, Unknown? unknown, string path)
    {
        if (depth > 32 || info.Kind != JsonTypeInfoKind.Object || !Copyable(info))
        {
            return false;
        }

        var members = NullPruner.MembersOf(info);
        foreach (var (name, value) in patch)
        {
            if (unknown is not null && !members.ContainsKey(name))
            {
                // A null removes nothing the object could hold: the merged document has no such field. A kind that
                // keeps unknown fields (extension data) is left to the general path.
                if (value is null)
                {
                    continue;
                }

                if (unknown.Field is not null || !IsPlainName(name) || info.Properties.Any(p => p.IsExtensionData))
                {
                    return false;
                }

                unknown.Field = path.Length == 0 ? name : path + "." + name;
                continue;
            }

            if (!members.TryGetValue(name, out var property) || property.Get is null || property.Set is null
                || property.IsExtensionData || typeof(JsonNode).IsAssignableFrom(property.PropertyType))
            {
                return false;
            }

            var valueInfo = info.Options.GetTypeInfo(property.PropertyType);
            if (valueInfo.Kind == JsonTypeInfoKind.Dictionary)
            {
                return false;
            }

            if (value is null)
            {
                if (property.PropertyType.IsValueType && Nullable.GetUnderlyingType(property.PropertyType) is null)
                {
                    return false;
                }

                plan.Sets.Add((property, null));
                continue;
            }

            if (value is JsonObject inner && valueInfo.Kind == JsonTypeInfoKind.Object && property.Get(target) is { } existing)
            {
                var level = new Level(valueInfo);
                if (!Plan(valueInfo, existing, inner, level, depth + 1, unknown, path.Length == 0 ? name : path + "." + name))
                {
                    return false;
                }

                plan.Merges.Add((property, level));
                continue;
            }

            // A scalar, an array or an object onto nothing: the field becomes the patch's value, nulls pruned as a
            // decode would (merging an object onto nothing drops its null members). A scalar has nothing to prune, so
            // it is decoded as it is, not copied (every field of a lease renewal is one).
            var pruned = value;
            if (value is not JsonValue)
            {
                pruned = value.DeepClone();
                RemoveNullMembers(pruned);
                NullPruner.PruneValue(pruned, valueInfo);
            }

            try
            {
                // A field with its own converter (a Lease's microsecond times) decodes inside its declaring object.
                var decoded = property.CustomConverter is null
                    ? Decode(pruned, null, valueInfo)
                    : property.Get(Decode(pruned, name, info)!);
                plan.Sets.Add((property, decoded));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or OverflowException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Decodes <paramref name="value"/> with <paramref name="info"/>, or, with <paramref name="wrapper"/>, an object of
    /// that type with the value as its one field of that name. The JSON is written to a buffer kept for the thread,
    /// where decoding the tree itself would write it to a fresh one (and a wrapper would need a tree of its own).
    /// </summary>
    private static object? Decode(JsonNode value, string? wrapper, JsonTypeInfo info)
    {
        var scratch = _scratch ?? new Scratch();
        _scratch = null;
        try
        {
            var writer = scratch.Start(info.Options);
            if (wrapper is not null)
            {
                writer.WriteStartObject();
                writer.WritePropertyName(wrapper);
            }

            value.WriteTo(writer, info.Options);
            if (wrapper is not null)
            {
                writer.WriteEndObject();
            }

            writer.Flush();
            return JsonSerializer.Deserialize(scratch.Written, info);
        }
        finally
        {
            if (scratch.Reusable)
            {
                scratch.Clear();
                _scratch = scratch;
            }
            else
            {
                scratch.Dispose();
            }
        }
    }

    [ThreadStatic]
    private static Scratch? _scratch;

    /// <summary>A buffer and a writer onto it, kept for one thread between decodes.</summary>
    private sealed class Scratch : IDisposable
    {
        private const int MaxKeptBytes = 64 * 1024;
        private readonly ArrayBufferWriter<byte> _buffer = new(256);
        private Utf8JsonWriter? _writer;
        private JsonSerializerOptions? _options;

        public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

        public bool Reusable => _buffer.Capacity <= MaxKeptBytes;

        public Utf8JsonWriter Start(JsonSerializerOptions options)
        {
            if (_writer is null || !ReferenceEquals(options, _options))
            {
                _writer?.Dispose();
                _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = options.Encoder, SkipValidation = true });
                _options = options;
            }
            else
            {
                _writer.Reset(_buffer);
            }

            return _writer;
        }

        public void Clear() => _buffer.ResetWrittenCount();

        public void Dispose() => _writer?.Dispose();
    }

    /// <summary>A field name the decoder's error path writes as <c>.name</c> (not <c>['name']</c>).</summary>
    private static bool IsPlainName(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>What merging an object onto nothing does (RFC 7386): null members go, in nested objects too (not inside arrays, which a merge patch replaces whole).</summary>
    private static void RemoveNullMembers(JsonNode node)
    {
        if (node is not JsonObject obj)
        {
            return;
        }

        List<string>? nulls = null;
        foreach (var (name, value) in obj)
        {
            if (value is null)
            {
                (nulls ??= []).Add(name);
            }
            else
            {
                RemoveNullMembers(value);
            }
        }

        foreach (var name in nulls ?? [])
        {
            obj.Remove(name);
        }
    }
}
