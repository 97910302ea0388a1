using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Verge.Core.Quantities;

/// <summary>
/// Reads a quantity from a JSON string or number and writes its canonical string. Text that does not parse becomes
/// an invalid <see cref="Quantity"/> (never an exception), so validation can report it with its field path.
/// </summary>
public sealed class QuantityJsonConverter : JsonConverter<Quantity>
{
    public override Quantity Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.String => Quantity.ParseOrInvalid(reader.GetString()!.Trim()),
            JsonTokenType.Number => Quantity.ParseOrInvalid(Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan)),
            _ => throw new JsonException($"a quantity must be a string or a number, not {reader.TokenType}"),
        };

    public override void Write(Utf8JsonWriter writer, Quantity value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());

    public override Quantity ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Quantity.ParseOrInvalid(reader.GetString()!);

    public override void WriteAsPropertyName(Utf8JsonWriter writer, Quantity value, JsonSerializerOptions options) =>
        writer.WritePropertyName(value.ToString());
}
