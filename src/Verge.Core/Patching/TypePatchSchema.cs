using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Verge.Core.Meta;

namespace Verge.Core.Patching;

/// <summary>
/// An <see cref="IPatchSchema"/> read from a typed JSON contract: it walks <see cref="JsonTypeInfo.Properties"/>
/// through nested classes, lists and dictionaries, and reads <see cref="MergeKeyAttribute"/> and
/// <see cref="MergeSetAttribute"/> from each property. Types the contract does not know answer atomic lists and
/// plain maps. Instances are cached per options and root type; the shape of each type is computed once.
/// </summary>
public sealed class TypePatchSchema : IPatchSchema
{
    private static readonly ConditionalWeakTable<JsonSerializerOptions, ConcurrentDictionary<Type, TypePatchSchema>> Cache = [];

    private readonly JsonSerializerOptions _options;
    private readonly Type _rootType;
    private readonly ConcurrentDictionary<Type, TypeShape> _shapes = new();

    private TypePatchSchema(JsonSerializerOptions options, Type rootType)
    {
        _options = options;
        _rootType = rootType;
    }

    /// <summary>The schema of the type described by <paramref name="rootTypeInfo"/>.</summary>
    public static TypePatchSchema For(JsonTypeInfo rootTypeInfo)
    {
        ArgumentNullException.ThrowIfNull(rootTypeInfo);
        var perOptions = Cache.GetValue(rootTypeInfo.Options, static _ => new ConcurrentDictionary<Type, TypePatchSchema>());
        return perOptions.GetOrAdd(rootTypeInfo.Type, static (type, options) => new TypePatchSchema(options, type), rootTypeInfo.Options);
    }

    public ListSchema GetList(IReadOnlyList<string> path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Type? type = _rootType;
        var list = ListSchema.Atomic;
        foreach (var segment in path)
        {
            if (type is null)
            {
                return ListSchema.Atomic;
            }

            var shape = ShapeOf(type);
            switch (shape.Kind)
            {
                case ShapeKind.Class when shape.Properties!.TryGetValue(segment, out var property):
                    list = property.List;
                    type = ElementOfLists(property.Type);
                    break;
                case ShapeKind.Dictionary:
                    list = ListSchema.Atomic;
                    type = shape.ElementType is null ? null : ElementOfLists(shape.ElementType);
                    break;
                default:
                    return ListSchema.Atomic;
            }
        }

        return list;
    }

    /// <summary>Lists are skipped in paths: a property of type <c>List&lt;Container&gt;</c> continues at Container.</summary>
    private Type? ElementOfLists(Type type)
    {
        Type? current = type;
        for (var depth = 0; current is not null && depth < 8; depth++)
        {
            var shape = ShapeOf(current);
            if (shape.Kind != ShapeKind.List)
            {
                return current;
            }

            current = shape.ElementType;
        }

        return current;
    }

    private TypeShape ShapeOf(Type type) => _shapes.GetOrAdd(type, static (t, options) => TypeShape.Build(t, options), _options);

    private enum ShapeKind
    {
        Unknown,
        Class,
        Dictionary,
        List,
    }

    private sealed record PropertyShape(Type Type, ListSchema List);

    private sealed class TypeShape
    {
        private TypeShape(ShapeKind kind, Type? elementType, Dictionary<string, PropertyShape>? properties)
        {
            Kind = kind;
            ElementType = elementType;
            Properties = properties;
        }

        public ShapeKind Kind { get; }

        public Type? ElementType { get; }

        public Dictionary<string, PropertyShape>? Properties { get; }

        public static TypeShape Build(Type type, JsonSerializerOptions options)
        {
            if (!options.TryGetTypeInfo(type, out var info))
            {
                return new TypeShape(ShapeKind.Unknown, null, null);
            }

            switch (info.Kind)
            {
                case JsonTypeInfoKind.Object:
                    var properties = new Dictionary<string, PropertyShape>(StringComparer.Ordinal);
                    foreach (var property in info.Properties)
                    {
                        properties[property.Name] = new PropertyShape(property.PropertyType, ListOf(property));
                    }

                    return new TypeShape(ShapeKind.Class, null, properties);
                case JsonTypeInfoKind.Dictionary:
                    return new TypeShape(ShapeKind.Dictionary, info.ElementType, null);
                case JsonTypeInfoKind.Enumerable:
                    return new TypeShape(ShapeKind.List, info.ElementType, null);
                default:
                    return new TypeShape(ShapeKind.Unknown, null, null);
            }
        }

        private static ListSchema ListOf(JsonPropertyInfo property)
        {
            var provider = property.AttributeProvider;
            if (provider is null)
            {
                return ListSchema.Atomic;
            }

            if (provider.GetCustomAttributes(typeof(MergeKeyAttribute), inherit: false) is [MergeKeyAttribute key, ..])
            {
                return ListSchema.ByKey(key.Key);
            }

            return provider.IsDefined(typeof(MergeSetAttribute), inherit: false) ? ListSchema.Set : ListSchema.Atomic;
        }
    }
}
