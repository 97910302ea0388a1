using System.Text.Json;
using Verge.Core.Meta;
using Verge.Core.Serialization;

namespace Verge.ApiServer.Http;

/// <summary>
/// Writes meta.k8s.io/v1 Table responses, what <c>kubectl get</c> asks for: NAME, the kind's own columns, AGE, and
/// per row the object's metadata (PartialObjectMetadata), the whole object, or nothing, as includeObject says.
/// </summary>
internal static class TableWriter
{
    /// <summary>Whether the server adds NAME first (unless the kind places a Name column itself, as events do).</summary>
    private static bool AddsName(ResourceType type) => !type.Columns.Any(c => c.Name == "Name");

    /// <summary>Whether the server adds AGE last (unless the kind places an Age column itself, as pods do before their wide columns).</summary>
    private static bool AddsAge(ResourceType type) => !type.Columns.Any(c => c.Name == "Age");

    public static void WriteColumns(Utf8JsonWriter w, ResourceType type)
    {
        w.WriteStartArray("columnDefinitions");
        if (AddsName(type))
        {
            WriteColumn(w, "Name", "string", "name",
                "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.", 0);
        }

        foreach (var column in type.Columns)
        {
            WriteColumn(w, column.Name, column.Type, column.Format, column.Description, column.Priority);
        }

        if (AddsAge(type))
        {
            WriteColumn(w, "Age", "string", "",
                "CreationTimestamp is a timestamp representing the server time when this object was created.", 0);
        }

        w.WriteEndArray();
    }

    public static void WriteRow(Utf8JsonWriter w, ResourceType type, KubeObject obj, DateTimeOffset now, IncludeObject include)
    {
        w.WriteStartObject();
        w.WriteStartArray("cells");
        if (AddsName(type))
        {
            w.WriteStringValue(obj.Metadata.Name);
        }

        foreach (var column in type.Columns)
        {
            object? value;
            try
            {
                value = column.Cell(obj);
            }
            catch (Exception e) when (e is NullReferenceException or InvalidOperationException or ArgumentException or FormatException)
            {
                value = null;
            }

            switch (value)
            {
                case null:
                    w.WriteStringValue("<none>");
                    break;
                case string s:
                    w.WriteStringValue(s);
                    break;
                case int i:
                    w.WriteNumberValue(i);
                    break;
                case long l:
                    w.WriteNumberValue(l);
                    break;
                case bool b:
                    w.WriteBooleanValue(b);
                    break;
                case double d:
                    w.WriteNumberValue(d);
                    break;
                case DateTimeOffset at:
                    // A point in time is shown as kubectl shows ages: how long ago, from the server's clock.
                    w.WriteStringValue(HumanDuration.Format(now - at));
                    break;
                default:
                    w.WriteStringValue(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                    break;
            }
        }

        if (AddsAge(type))
        {
            w.WriteStringValue(obj.Metadata.CreationTimestamp is { } created ? HumanDuration.Format(now - created) : "<unknown>");
        }

        w.WriteEndArray();
        switch (include)
        {
            case IncludeObject.Object:
                w.WritePropertyName("object");
                JsonSerializer.Serialize(w, obj, type.TypeInfo);
                break;
            case IncludeObject.Metadata:
                w.WriteStartObject("object");
                w.WriteString("kind", "PartialObjectMetadata");
                w.WriteString("apiVersion", "meta.k8s.io/v1");
                w.WritePropertyName("metadata");
                JsonSerializer.Serialize(w, obj.Metadata, VergeJson.Options.GetTypeInfo(typeof(ObjectMeta)));
                w.WriteEndObject();
                break;
        }

        w.WriteEndObject();
    }

    private static void WriteColumn(Utf8JsonWriter w, string name, string type, string format, string description, int priority)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("type", type);
        w.WriteString("format", format);
        w.WriteString("description", description);
        w.WriteNumber("priority", priority);
        w.WriteEndObject();
    }
}

/// <summary>What a Table row embeds (the includeObject parameter).</summary>
internal enum IncludeObject
{
    None,
    Metadata,
    Object,
}
