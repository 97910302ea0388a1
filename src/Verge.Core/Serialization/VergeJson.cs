using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Verge.Core.Serialization;

/// <summary>
/// The JSON settings of every Verge object: camelCase names, nulls omitted, metav1.Time as RFC 3339 seconds in UTC,
/// and contracts from the source-generated <see cref="VergeJsonContext"/> (no reflection).
/// </summary>
public static class VergeJson
{
    /// <summary>Unknown fields are dropped, as Kubernetes does with fieldValidation=Ignore.</summary>
    public static JsonSerializerOptions Options { get; } = VergeJsonSettings.Create(VergeJsonContext.Default, strict: false);

    /// <summary>Unknown fields are an error, as Kubernetes does with fieldValidation=Strict.</summary>
    public static JsonSerializerOptions StrictOptions { get; } = VergeJsonSettings.Create(VergeJsonContext.Default, strict: true);

    /// <summary>
    /// Whether <paramref name="a"/> and <paramref name="b"/> encode to the same bytes under <paramref name="info"/>:
    /// equal bytes are equal values, a quick test before a walk that tells what differs (the converse does not hold:
    /// maps with their keys in another order encode differently).
    /// </summary>
    /// <remarks>
    /// Both encodings go to buffers kept per thread (every lease renewal and pod write compares metadata or a spec
    /// this way, and two fresh arrays for it were a tenth of a renewal's allocations); a comparison made while
    /// another is under way on the same thread gets buffers of its own.
    /// </remarks>
    public static bool SameEncoding(object a, object b, JsonTypeInfo info)
    {
        var buffers = _comparison ?? new ComparisonBuffers();
        _comparison = null;
        try
        {
            return buffers.Same(a, b, info);
        }
        finally
        {
            if (buffers.Reusable)
            {
                _comparison = buffers;
            }
            else
            {
                buffers.Dispose();
            }
        }
    }

    [ThreadStatic]
    private static ComparisonBuffers? _comparison;

    /// <summary>Two encodings side by side, written by one writer that is reset onto each in turn.</summary>
    private sealed class ComparisonBuffers : IDisposable
    {
        /// <summary>Buffers that grew past this (a huge object) are not kept for the thread.</summary>
        private const int MaxKeptBytes = 64 * 1024;

        private readonly ArrayBufferWriter<byte> _first = new(1024);
        private readonly ArrayBufferWriter<byte> _second = new(1024);
        private readonly Utf8JsonWriter _writer;

        public ComparisonBuffers() =>
            _writer = new Utf8JsonWriter(_first, new JsonWriterOptions { Encoder = Options.Encoder, SkipValidation = true });

        public void Dispose() => _writer.Dispose();

        public bool Reusable => _first.Capacity <= MaxKeptBytes && _second.Capacity <= MaxKeptBytes;

        public bool Same(object a, object b, JsonTypeInfo info)
        {
            try
            {
                Write(_first, a, info);
                Write(_second, b, info);
                return _first.WrittenSpan.SequenceEqual(_second.WrittenSpan);
            }
            finally
            {
                _first.ResetWrittenCount();
                _second.ResetWrittenCount();
            }
        }

        private void Write(ArrayBufferWriter<byte> buffer, object value, JsonTypeInfo info)
        {
            _writer.Reset(buffer);
            JsonSerializer.Serialize(_writer, value, info);
            _writer.Flush();
        }
    }
}
