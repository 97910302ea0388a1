using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Verge.ApiServer.Registry;
using Verge.ApiServer.Watch;
using Verge.Core.Meta;
using Verge.Core.Selectors;
using Verge.Store;

namespace Verge.ApiServer.Http;

internal sealed partial class ResourceEndpoint
{
    private const int PageSize = 500;

    private async Task ListAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        var query = context.Request.Query;
        var shape = MediaTypes.Negotiate(context.Request);
        var filter = ParseFilter(path, query);
        var limit = ParseInt(query["limit"].ToString(), "limit");
        long revision = 0;
        string? startAfter = null;
        var continueParam = query["continue"].ToString();
        var match = query["resourceVersionMatch"].ToString();
        var requested = query["resourceVersion"].ToString();
        if (match is not ("" or "Exact" or "NotOlderThan"))
        {
            throw ApiException.BadRequest($"resourceVersionMatch: Unsupported value: \"{match}\": supported values: \"Exact\", \"NotOlderThan\"");
        }

        if (match.Length > 0 && requested.Length == 0)
        {
            throw ApiException.BadRequest("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided");
        }

        if (continueParam.Length > 0 && requested.Length > 0 && requested != "0")
        {
            throw ApiException.BadRequest("specifying resource version is not allowed when using continue");
        }
        if (continueParam.Length > 0)
        {
            (revision, startAfter) = DecodeContinue(continueParam);
        }
        else if (query["resourceVersionMatch"].ToString() == "Exact")
        {
            revision = ParseRevision(query["resourceVersion"].ToString());
        }
        else
        {
            var rv = query["resourceVersion"].ToString();
            if (rv.Length > 0 && rv != "0")
            {
                _ = ParseRevision(rv);
            }
        }

        var prefix = ObjectCodec.Prefix(path.Type, path.Namespace);
        var items = new List<(KeyValue Stored, KubeObject? Object)>();
        string? next = null;
        long? remaining = null;
        try
        {
            while (true)
            {
                var want = limit > 0 ? Math.Max(limit - items.Count, filter.NeedsObject ? PageSize : 0) : PageSize;
                var page = await service.Store.ListAsync(prefix, revision, want, startAfter, ct);
                revision = page.Revision;
                var taken = 0;
                foreach (var kv in page.Items)
                {
                    taken++;
                    startAfter = kv.Key;
                    KubeObject? obj = null;
                    if (filter.NeedsObject || shape == ResponseShape.Table)
                    {
                        obj = ObjectCodec.Decode(path.Type, kv.Value.Span, kv.ModRevision);
                        if (filter.NeedsObject && !filter.Matches(path.Type, obj))
                        {
                            continue;
                        }
                    }

                    items.Add((kv, obj));
                    if (limit > 0 && items.Count >= limit)
                    {
                        break;
                    }
                }

                var more = page.HasMore || taken < page.Items.Count;
                if (limit > 0 && items.Count >= limit)
                {
                    if (more)
                    {
                        next = EncodeContinue(revision, startAfter!);
                        if (!filter.NeedsObject && page.RemainingCount is { } r)
                        {
                            remaining = r + (page.Items.Count - taken);
                        }
                    }

                    break;
                }

                if (!page.HasMore)
                {
                    break;
                }
            }
        }
        catch (RevisionCompactedException) when (continueParam.Length > 0)
        {
            throw ApiException.Gone(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
        }
        catch (RevisionCompactedException e)
        {
            throw ApiException.Gone($"too old resource version: {e.RequestedRevision} ({e.CompactedRevision + 1})");
        }
        catch (FutureRevisionException e)
        {
            throw ApiException.Timeout($"Too large resource version: {e.RequestedRevision}, current: {e.CurrentRevision}");
        }

        var rvText = ResourceService.Rv(revision);
        if (shape == ResponseShape.Table)
        {
            await WriteTableAsync(context, path.Type, items.Select(i => i.Object!), rvText, next, remaining);
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(context.Response.BodyWriter, new JsonWriterOptions { SkipValidation = true });
        w.WriteStartObject();
        w.WriteString("kind", path.Type.Kind + "List");
        w.WriteString("apiVersion", path.Type.ApiVersion);
        WriteListMeta(w, rvText, next, remaining);
        w.WriteStartArray("items");
        foreach (var (kv, _) in items)
        {
            w.WriteRawValue(ObjectCodec.WithResourceVersion(kv.Value.Span, kv.ModRevision), skipInputValidation: true);
            if (w.BytesPending > 64 * 1024)
            {
                await w.FlushAsync(ct);
            }
        }

        w.WriteEndArray();
        w.WriteEndObject();
        await w.FlushAsync(ct);
    }

    private async Task WatchAsync(HttpContext context, ResourcePath path, CancellationToken ct)
    {
        var query = context.Request.Query;
        var shape = MediaTypes.Negotiate(context.Request);
        var filter = ParseFilter(path, query);
        var bookmarks = query["allowWatchBookmarks"].ToString() is "true" or "1";
        var timeoutSeconds = ParseInt(query["timeoutSeconds"].ToString(), "timeoutSeconds");
        var rv = query["resourceVersion"].ToString();
        var sendInitial = query["sendInitialEvents"].ToString() is "true" or "1";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(timeoutSeconds > 0 ? TimeSpan.FromSeconds(timeoutSeconds) : serverOptions.MaxWatchDuration);
        var token = timeout.Token;

        await watchCache.Ready.WaitAsync(ct);
        var initial = new List<KeyValue>();
        long after;
        if (rv.Length == 0 || rv == "0" || sendInitial)
        {
            after = watchCache.Revision;
            var prefix = ObjectCodec.Prefix(path.Type, path.Namespace);
            string? start = null;
            while (true)
            {
                var page = await service.Store.ListAsync(prefix, after, PageSize, start, ct);
                initial.AddRange(page.Items);
                if (!page.HasMore || page.Items.Count == 0)
                {
                    break;
                }

                start = page.Items[^1].Key;
            }
        }
        else
        {
            after = ParseRevision(rv);
            if (after > watchCache.Revision)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                wait.CancelAfter(TimeSpan.FromSeconds(3));
                try
                {
                    await watchCache.WaitForRevisionAsync(after, wait.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw ApiException.Timeout($"Too large resource version: {after}, current: {watchCache.Revision}");
                }
            }
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-cache, private";
        // Frames are copied into the response pipe and flushed once per batch: one flush per watcher per change.
        var body = context.Response.BodyWriter;
        Watcher watcher;
        try
        {
            watcher = watchCache.Subscribe(path.Type, filter, after, serverOptions.WatcherBuffer, bookmarks);
        }
        catch (RevisionCompactedException e)
        {
            body.Write(ErrorFrame(ApiException.Gone($"too old resource version: {after} ({e.CompactedRevision + 1})")));
            await body.FlushAsync(ct);
            return;
        }

        using (watcher)
        {
            var table = shape == ResponseShape.Table ? new TableFrames(path.Type, time) : null;
            await context.Response.StartAsync(ct);
            foreach (var kv in initial)
            {
                var obj = filter.NeedsObject || table is not null ? ObjectCodec.Decode(path.Type, kv.Value.Span, kv.ModRevision) : null;
                if (obj is not null && filter.NeedsObject && !filter.Matches(path.Type, obj))
                {
                    continue;
                }

                var json = ObjectCodec.WithResourceVersion(kv.Value.Span, kv.ModRevision);
                body.Write(table?.Frame("ADDED", obj!, kv.ModRevision) ?? Frame("ADDED", json));
                if (body.UnflushedBytes > 64 * 1024)
                {
                    await body.FlushAsync(token);
                }
            }

            if (sendInitial && bookmarks)
            {
                body.Write(BookmarkFrame(path.Type, after, initialEventsEnd: true));
            }

            await body.FlushAsync(token);
            var lastSent = after;
            var reader = watcher.Events;
            try
            {
                while (await reader.WaitToReadAsync(token))
                {
                    while (reader.TryRead(out var item))
                    {
                        if (item.Event is not { } e)
                        {
                            if (item.Revision >= lastSent)
                            {
                                lastSent = item.Revision;
                                body.Write(BookmarkFrame(path.Type, item.Revision, initialEventsEnd: false));
                            }

                            continue;
                        }

                        var frame = table is not null
                            ? table.Frame(item.Type.ToWord(), e.Current, e.Revision)
                            : e.Frame(item.Type);
                        body.Write(frame);
                        lastSent = e.Revision;
                    }

                    await body.FlushAsync(token);
                }

                // The channel completed: the watcher fell behind its buffer and was closed. Ending the response
                // makes the client watch again from its last revision.
            }
            catch (OperationCanceledException)
            {
                // The timeout elapsed or the client went away: the watch ends normally.
            }
            catch (IOException)
            {
            }
        }
    }

    private static byte[] Frame(string type, ReadOnlySpan<byte> obj)
    {
        var head = Encoding.UTF8.GetBytes($"{{\"type\":\"{type}\",\"object\":");
        var frame = new byte[head.Length + obj.Length + 2];
        head.CopyTo(frame, 0);
        obj.CopyTo(frame.AsSpan(head.Length));
        frame[^2] = (byte)'}';
        frame[^1] = (byte)'\n';
        return frame;
    }

    private static byte[] BookmarkFrame(ResourceType type, long revision, bool initialEventsEnd)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", "BOOKMARK");
            w.WriteStartObject("object");
            w.WriteString("kind", type.Kind);
            w.WriteString("apiVersion", type.ApiVersion);
            w.WriteStartObject("metadata");
            w.WriteString("resourceVersion", revision.ToString(CultureInfo.InvariantCulture));
            if (initialEventsEnd)
            {
                w.WriteStartObject("annotations");
                w.WriteString("k8s.io/initial-events-end", "true");
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static byte[] ErrorFrame(ApiException error)
    {
        var status = JsonSerializer.SerializeToUtf8Bytes(error.ToStatus(), Core.Serialization.VergeJson.Options.GetTypeInfo(typeof(Status)));
        return Frame("ERROR", status);
    }

    private static WatchFilter ParseFilter(ResourcePath path, IQueryCollection query)
    {
        LabelSelectorExpression? labels = null;
        FieldSelectorExpression? fields = null;
        var labelText = query["labelSelector"].ToString();
        if (labelText.Length > 0)
        {
            try
            {
                labels = LabelSelectorExpression.Parse(labelText);
            }
            catch (FormatException e)
            {
                throw ApiException.BadRequest(e.Message);
            }
        }

        var fieldText = query["fieldSelector"].ToString();
        if (fieldText.Length > 0)
        {
            try
            {
                fields = FieldSelectorExpression.Parse(fieldText);
            }
            catch (FormatException e)
            {
                throw ApiException.BadRequest($"invalid field selector: {e.Message}");
            }

            var supported = SupportedFields(path.Type);
            foreach (var field in fields.Fields)
            {
                if (!supported.Contains(field))
                {
                    throw ApiException.BadRequest($"field label not supported: {field}");
                }
            }
        }

        return new WatchFilter(path.Namespace, labels, fields);
    }

    private static HashSet<string> SupportedFields(ResourceType type)
    {
        var fields = new HashSet<string>(StringComparer.Ordinal) { "metadata.name", "metadata.namespace" };
        if (type.TypeInfo.CreateObject?.Invoke() is KubeObject sample)
        {
            foreach (var (key, _) in type.SelectableFields(sample))
            {
                fields.Add(key);
            }
        }

        return fields;
    }

    private static int ParseInt(string text, string name)
    {
        if (text.Length == 0)
        {
            return 0;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw ApiException.BadRequest($"invalid {name}: \"{text}\" is not a non-negative integer");
        }

        return value;
    }

    private static long ParseRevision(string text)
    {
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw ApiException.BadRequest($"invalid resource version: \"{text}\"");
        }

        return value;
    }

    private static string EncodeContinue(long revision, string startAfter)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("v", "meta.k8s.io/v1");
            w.WriteNumber("rv", revision);
            w.WriteString("start", startAfter);
            w.WriteEndObject();
        }

        return Base64Url.EncodeToString(buffer.ToArray());
    }

    private static (long Revision, string StartAfter) DecodeContinue(string token)
    {
        try
        {
            using var doc = JsonDocument.Parse(Base64Url.DecodeFromChars(token));
            var root = doc.RootElement;
            if (root.GetProperty("v").GetString() != "meta.k8s.io/v1")
            {
                throw new FormatException("unknown version");
            }

            var revision = root.GetProperty("rv").GetInt64();
            var start = root.GetProperty("start").GetString() ?? throw new FormatException("no start key");
            if (revision <= 0)
            {
                throw new FormatException("bad revision");
            }

            return (revision, start);
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw ApiException.BadRequest($"continue key is not valid: {e.Message}");
        }
    }

    /// <summary>Watch frames whose objects are one-row Tables; column definitions go with the first frame only.</summary>
    private sealed class TableFrames(ResourceType type, TimeProvider time)
    {
        private bool _headersSent;

        public byte[] Frame(string eventType, KubeObject obj, long revision)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("type", eventType);
                w.WriteStartObject("object");
                w.WriteString("kind", "Table");
                w.WriteString("apiVersion", "meta.k8s.io/v1");
                w.WriteStartObject("metadata");
                w.WriteString("resourceVersion", revision.ToString(CultureInfo.InvariantCulture));
                w.WriteEndObject();
                if (!_headersSent)
                {
                    TableWriter.WriteColumns(w, type);
                    _headersSent = true;
                }
                else
                {
                    w.WriteStartArray("columnDefinitions");
                    w.WriteEndArray();
                }

                w.WriteStartArray("rows");
                TableWriter.WriteRow(w, type, obj, time.GetUtcNow(), IncludeObject.Metadata);
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
            }

            buffer.WriteByte((byte)'\n');
            return buffer.ToArray();
        }
    }
}
