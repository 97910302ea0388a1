using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Verge.Core.Meta;

namespace Verge.ApiServer.Tests.OpenApi;

[Description("Widget is a test kind with a spec and a status.")]
public sealed class Widget : KubeObject
{
    [Description("The desired state.")]
    public WidgetSpec? Spec { get; set; }

    public WidgetStatus? Status { get; set; }
}

public sealed class WidgetSpec
{
    public int? Replicas { get; set; }

    [MergeKey("name")]
    public List<Part>? Parts { get; set; }

    [MergeSet]
    public List<string>? Tags { get; set; }

    [Description("Arguments, replaced as a whole.")]
    public List<string>? Args { get; set; }

    public Dictionary<string, string>? Labels { get; set; }

    public Dictionary<string, Quantity>? Limits { get; set; }

    public IntOrString? Port { get; set; }

    public JsonObject? Config { get; set; }

    public byte[]? Blob { get; set; }

    public DateTimeOffset? At { get; set; }

    public long Size { get; set; }

    public Mode Mode { get; set; }

    public TreeNode? Root { get; set; }
}

public sealed class Part
{
    public string Name { get; set; } = "";

    public required string Image { get; set; }
}

[Description("A node of a tree: it refers to its own type.")]
public sealed class TreeNode
{
    public string? Value { get; set; }

    public List<TreeNode>? Children { get; set; }
}

public sealed class WidgetStatus
{
    public int Replicas { get; set; }
}

[JsonConverter(typeof(JsonStringEnumConverter<Mode>))]
public enum Mode
{
    Fast,
    Slow,
}

[JsonConverter(typeof(QuantityConverter))]
public readonly record struct Quantity(string Text);

[JsonConverter(typeof(IntOrStringConverter))]
public readonly record struct IntOrString(string Text);

public sealed class QuantityConverter : JsonConverter<Quantity>
{
    public override Quantity Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new(reader.GetString() ?? "");

    public override void Write(Utf8JsonWriter writer, Quantity value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Text);
}

public sealed class IntOrStringConverter : JsonConverter<IntOrString>
{
    public override IntOrString Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new(reader.GetString() ?? "");

    public override void Write(Utf8JsonWriter writer, IntOrString value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Text);
}

/// <summary>A cluster-scoped kind in Verge's own group, without subresources.</summary>
public sealed class Gadget : KubeObject
{
    public GadgetSpec? Spec { get; set; }
}

public sealed class GadgetSpec
{
    public string? Model { get; set; }
}

/// <summary>A core-group kind.</summary>
public sealed class Thing : KubeObject
{
    public Dictionary<string, string>? Data { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Widget))]
[JsonSerializable(typeof(Gadget))]
[JsonSerializable(typeof(Thing))]
internal sealed partial class TestKindsJsonContext : JsonSerializerContext;

internal static class TestCatalog
{
    public static IReadOnlyList<ResourceType> Types { get; } =
    [
        new ResourceType
        {
            Group = "apps",
            Version = "v1",
            Kind = "Widget",
            Plural = "widgets",
            Singular = "widget",
            Namespaced = true,
            HasStatus = true,
            Scale = new ScaleSubresource(_ => 1, (_, _) => { }, _ => 1, _ => null),
            TypeInfo = TestKindsJsonContext.Default.Widget,
        },
        new ResourceType
        {
            Group = "edge.verge.dev",
            Version = "v1",
            Kind = "Gadget",
            Plural = "gadgets",
            Singular = "gadget",
            Namespaced = false,
            TypeInfo = TestKindsJsonContext.Default.Gadget,
        },
        new ResourceType
        {
            Group = "",
            Version = "v1",
            Kind = "Thing",
            Plural = "things",
            Singular = "thing",
            Namespaced = true,
            TypeInfo = TestKindsJsonContext.Default.Thing,
        },
    ];
}
