using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Verge.Gateway.Upstream;

/// <summary>
/// The gateway's durable, ordered store-and-forward queue for upstream messages.
/// <para>
/// On disk: append-only segment files named by their first sequence (<c>00000000000000000001.seg</c>), each a run of
/// records <c>[u32 body length][u32 CRC-32C of body][body: u64 sequence, i64 enqueued-at ms, u16 topic length, topic,
/// payload]</c> (little endian), and an <c>ack</c> file holding the sequence everything up to which is consumed, in two
/// CRC-protected slots written alternately and fsynced. A torn or corrupt record at the tail (a crash mid-write) fails
/// its CRC and is cut off on open; acknowledged and fsynced records are never lost.
/// </para>
/// <para>
/// Enqueues go through one writer loop that group-commits: every message waiting is written with one write and one
/// fsync, and each caller's task completes only after that fsync. Sequences increase by one per message and never
/// repeat across restarts. <see cref="PeekAsync"/> reads the oldest unacknowledged messages; <see cref="AckAsync"/>
/// consumes up to a sequence, in order; messages not acknowledged before a crash are delivered again (at least once).
/// Fully consumed segments are deleted.
/// </para>
/// </summary>
internal sealed partial class DurableQueue : IAsyncDisposable
{
    /// <summary>Framing per record beyond topic and payload: 8 bytes of length and CRC, 18 of fixed body.</summary>
    public const int FixedBytes = 8 + 18;

    /// <summary>The most framing a record can add (fixed bytes and the longest topic).</summary>
    public const int MaxOverheadBytes = FixedBytes + ushort.MaxValue;

    private const string SegmentSuffix = ".seg";
    private const string AckFileName = "ack";
    private const int ChunkBytes = 256 * 1024;

    private readonly DurableQueueOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Meter? _ownedMeter;
    private readonly Channel<PendingWrite> _writes = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _cursorLock = new(1, 1);
    private readonly Lock _gate = new();
    private readonly List<Segment> _segments = [];
    private readonly FileStream _ackFile;
    private readonly Task _writer;
    private byte[] _chunk = new byte[ChunkBytes];

    // Guarded by _gate.
    private long _nextSequence;
    private long _lastCommitted;
    private long _depth;
    private long _bytes;
    private long _oldestMs = long.MaxValue;
    private long _enqueued;
    private long _acked;
    private long _droppedOverflow;
    private long _droppedExpired;
    private long _refused;

    // Guarded by _cursorLock: the first unconsumed record, and where the last peek ended.
    private Position _cursor;
    private long _consumed;
    private long _ackGeneration;
    private PeekEnd? _peekEnd;

    // Owned by the writer loop.
    private Segment _active;
    private FileStream _activeStream;
    private bool _disposed;
    private volatile Exception? _faulted;

    private DurableQueue(DurableQueueOptions options, TimeProvider time, ILogger logger, Meter? ownedMeter, FileStream ackFile, Segment active, FileStream activeStream)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _ownedMeter = ownedMeter;
        _ackFile = ackFile;
        _active = active;
        _activeStream = activeStream;
        _writer = Task.Run(WriteLoopAsync);
    }

    public string GatewayId => _options.GatewayId;

    /// <summary>Unacknowledged messages.</summary>
    public long Depth
    {
        get
        {
            lock (_gate)
            {
                return _depth;
            }
        }
    }

    /// <summary>Bytes of unacknowledged records, framing included.</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    /// <summary>Age of the oldest unacknowledged message, zero when empty.</summary>
    public TimeSpan OldestAge
    {
        get
        {
            long oldest;
            lock (_gate)
            {
                oldest = _oldestMs;
            }

            return oldest == long.MaxValue ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Max(0, _time.GetUtcNow().ToUnixTimeMilliseconds() - oldest));
        }
    }

    public long Enqueued => Read(ref _enqueued);

    public long Acked => Read(ref _acked);

    public long DroppedOverflow => Read(ref _droppedOverflow);

    public long DroppedExpired => Read(ref _droppedExpired);

    public long Refused => Read(ref _refused);

    /// <summary>The highest sequence durably written.</summary>
    public long LastSequence => Read(ref _lastCommitted);

    /// <summary>The sequence up to which everything is acknowledged or dropped.</summary>
    public long ConsumedSequence => Read(ref _consumed);

    /// <summary>Segment files on disk.</summary>
    public int SegmentCount
    {
        get
        {
            lock (_gate)
            {
                return _segments.Count;
            }
        }
    }

    /// <summary>Opens (creating or recovering) the queue in <see cref="DurableQueueOptions.Directory"/>.</summary>
    public static DurableQueue Open(DurableQueueOptions options, TimeProvider? time = null, ILogger? logger = null, IMeterFactory? meters = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        time ??= TimeProvider.System;
        logger ??= NullLogger.Instance;
        Directory.CreateDirectory(options.Directory);

        var ackFile = new FileStream(Path.Combine(options.Directory, AckFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
        try
        {
            var (consumed, generation) = ReadAck(ackFile);
            var recovered = Recover(options, consumed, logger);
            var next = Math.Max(recovered.LastSequence, consumed) + 1;
            Segment active;
            if (recovered.Segments.Count > 0 && recovered.Segments[^1].Length < options.SegmentBytes)
            {
                active = recovered.Segments[^1];
            }
            else
            {
                active = new Segment(next, SegmentPath(options.Directory, next));
                recovered.Segments.Add(active);
            }

            var stream = new FileStream(active.Path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0);
            if (stream.Length == 0)
            {
                Preallocate(stream, options.SegmentBytes);
            }

            DirectorySync.Flush(options.Directory);

            stream.Position = active.Length;
            var meter = meters is null ? new Meter("Verge.Gateway") : null;
            var queue = new DurableQueue(options, time, logger, meter, ackFile, active, stream)
            {
                _nextSequence = next,
                _lastCommitted = next - 1,
                _consumed = consumed,
                _ackGeneration = generation,
                _cursor = recovered.Cursor ?? new Position(active, active.Length),
                _depth = recovered.Depth,
                _bytes = recovered.Bytes,
                _oldestMs = recovered.OldestMs,
            };
            queue._segments.AddRange(recovered.Segments);
            queue.CreateInstruments(meter ?? meters!.Create("Verge.Gateway"));
            queue.DeleteConsumedSegments();
            Log.Opened(logger, options.Directory, recovered.Depth, consumed, next);
            return queue;
        }
        catch
        {
            ackFile.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Appends a message and returns once it is on disk (fsynced), with its sequence; or refused when the queue is
    /// full under <see cref="OverflowPolicy.RefuseNew"/>. <paramref name="payload"/> must not change until the task
    /// completes. Cancelling stops the wait, not necessarily the write.
    /// </summary>
    public async ValueTask<EnqueueResult> EnqueueAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var topicBytes = Encoding.UTF8.GetByteCount(topic);
        if (topicBytes > ushort.MaxValue)
        {
            throw new ArgumentException($"topic is longer than {ushort.MaxValue} bytes", nameof(topic));
        }

        if (payload.Length > _options.MaxMessageBytes)
        {
            throw new ArgumentException($"payload of {payload.Length} bytes is larger than the queue's limit of {_options.MaxMessageBytes}", nameof(payload));
        }

        var pending = new PendingWrite(topic, payload, FixedBytes + topicBytes + payload.Length);
        if (_faulted is { } fault)
        {
            throw new IOException("the upstream queue stopped after a disk error: " + fault.Message, fault);
        }

        ObjectDisposedException.ThrowIf(!_writes.Writer.TryWrite(pending), this);

        return await pending.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// The oldest unacknowledged messages, at most <paramref name="maxMessages"/> (and about <paramref name="maxBytes"/>,
    /// always at least one), in sequence order. Drops expired messages first. Does not consume: the same messages come
    /// back until acknowledged.
    /// </summary>
    public async ValueTask<IReadOnlyList<QueuedMessage>> PeekAsync(int maxMessages, long maxBytes = long.MaxValue, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _cursorLock.WaitAsync(cancellationToken);
        try
        {
            ExpireLocked();
            var messages = new List<QueuedMessage>();
            long bytes = 0;
            var end = Scan(_cursor, (in Record record, ReadOnlySpan<byte> body) =>
            {
                if (messages.Count >= maxMessages || (messages.Count > 0 && bytes + record.Size > maxBytes))
                {
                    return false;
                }

                var topicLength = BinaryPrimitives.ReadUInt16LittleEndian(body[16..]);
                var topic = Encoding.UTF8.GetString(body.Slice(18, topicLength));
                var payload = body[(18 + topicLength)..].ToArray();
                messages.Add(new QueuedMessage(record.Sequence, MessageId(record.Sequence), DateTimeOffset.FromUnixTimeMilliseconds(record.EnqueuedMs), topic, payload));
                bytes += record.Size;
                return true;
            });
            _peekEnd = messages.Count == 0 ? null : new PeekEnd(messages[^1].Sequence, end, messages.Count, bytes);
            return messages;
        }
        finally
        {
            _cursorLock.Release();
        }
    }

    /// <summary>
    /// Acknowledges every message up to and including <paramref name="sequence"/>, durably. Acknowledging what is
    /// already consumed (or dropped) does nothing; acknowledging beyond the last written sequence is an error.
    /// </summary>
    public async ValueTask AckAsync(long sequence, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _cursorLock.WaitAsync(cancellationToken);
        try
        {
            if (sequence <= _consumed)
            {
                return;
            }

            var last = LastSequence;
            if (sequence > last)
            {
                throw new ArgumentOutOfRangeException(nameof(sequence), sequence, $"beyond the last written sequence {last}");
            }

            long count;
            long bytes;
            if (_peekEnd is { } peek && peek.Sequence == sequence)
            {
                _cursor = peek.Position;
                (count, bytes) = (peek.Count, peek.Bytes);
            }
            else
            {
                (count, bytes, _) = ConsumeLocked(record => record.Sequence <= sequence);
            }

            _peekEnd = null;
            CommitConsumedLocked(sequence, count, bytes);
            lock (_gate)
            {
                _acked += count;
            }
        }
        finally
        {
            _cursorLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _writes.Writer.TryComplete();
        try
        {
            await _writer;
        }
        finally
        {
            await _activeStream.DisposeAsync();
            await _ackFile.DisposeAsync();
            _cursorLock.Dispose();
            _ownedMeter?.Dispose();
        }
    }

    private string MessageId(long sequence) => _options.GatewayId + ":" + sequence.ToString(CultureInfo.InvariantCulture);

    private static long Read(ref long field) => Interlocked.Read(ref field);

    private static string SegmentPath(string directory, long firstSequence) =>
        Path.Combine(directory, firstSequence.ToString("D20", CultureInfo.InvariantCulture) + SegmentSuffix);

    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingWrite>();
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        while (await _writes.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < _options.MaxBatchMessages && _writes.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            try
            {
                await WriteBatchAsync(batch, buffer);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // What reached the disk is recovered on the next open; until then nothing more is accepted, so
                // sequences on disk never repeat and no half-written record sits before later ones.
                Log.WriteFailed(_logger, e.Message, e);
                _faulted = e;
                _writes.Writer.TryComplete();
                var error = new IOException("the upstream queue could not write to disk: " + e.Message, e);
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(error);
                }

                while (_writes.Reader.TryRead(out var pending))
                {
                    pending.Completion.TrySetException(error);
                }
            }
        }
    }

    private async Task WriteBatchAsync(List<PendingWrite> batch, ArrayBufferWriter<byte> buffer)
    {
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        long queuedBytes;
        lock (_gate)
        {
            queuedBytes = _bytes;
        }

        var sequence = _nextSequence;
        var written = new List<(PendingWrite Write, long Sequence)>(batch.Count);
        long batchBytes = 0;
        buffer.ResetWrittenCount();
        foreach (var pending in batch)
        {
            if (_options.Overflow == OverflowPolicy.RefuseNew && queuedBytes + batchBytes + pending.Size > _options.MaxBytes)
            {
                Interlocked.Increment(ref _refused);
                pending.Completion.TrySetResult(EnqueueResult.Refused($"queue is full ({_options.MaxBytes} bytes)"));
                continue;
            }

            if (_active.Length + buffer.WrittenCount > 0 && _active.Length + buffer.WrittenCount + pending.Size > _options.SegmentBytes)
            {
                await FlushAsync(buffer);
                await RollAsync(sequence);
            }

            WriteRecord(buffer, sequence, nowMs, pending);
            written.Add((pending, sequence));
            batchBytes += pending.Size;
            sequence++;
        }

        await FlushAsync(buffer);
        _nextSequence = sequence;
        if (written.Count == 0)
        {
            return;
        }

        lock (_gate)
        {
            _lastCommitted = sequence - 1;
            if (_depth == 0)
            {
                _oldestMs = nowMs;
            }

            _depth += written.Count;
            _bytes += batchBytes;
            _enqueued += written.Count;
        }

        if (_options.Overflow == OverflowPolicy.DropOldest && Bytes > _options.MaxBytes)
        {
            await _cursorLock.WaitAsync();
            try
            {
                var excess = Bytes - _options.MaxBytes;
                long freed = 0;
                var dropped = ConsumeLocked(record =>
                {
                    if (freed >= excess)
                    {
                        return false;
                    }

                    freed += record.Size;
                    return true;
                });
                if (dropped.Count > 0)
                {
                    CommitConsumedLocked(dropped.Last, dropped.Count, dropped.Bytes);
                    Interlocked.Add(ref _droppedOverflow, dropped.Count);
                    Log.Dropped(_logger, dropped.Count, "overflow");
                }
            }
            finally
            {
                _cursorLock.Release();
            }
        }

        foreach (var (pending, seq) in written)
        {
            pending.Completion.TrySetResult(EnqueueResult.Durable(seq));
        }
    }

    private async Task FlushAsync(ArrayBufferWriter<byte> buffer)
    {
        if (buffer.WrittenCount == 0)
        {
            return;
        }

        await _activeStream.WriteAsync(buffer.WrittenMemory);
        _activeStream.Flush(flushToDisk: true);
        lock (_gate)
        {
            _active.Length += buffer.WrittenCount;
        }

        buffer.ResetWrittenCount();
    }

    private async Task RollAsync(long firstSequence)
    {
        await _activeStream.DisposeAsync();
        var segment = new Segment(firstSequence, SegmentPath(_options.Directory, firstSequence));
        _activeStream = new FileStream(segment.Path, FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0);
        Preallocate(_activeStream, _options.SegmentBytes);
        DirectorySync.Flush(_options.Directory);
        lock (_gate)
        {
            _segments.Add(segment);
        }

        _active = segment;
    }

    /// <summary>
    /// Fills a new segment with zeros up to its size and fsyncs it, so later appends overwrite blocks in place and
    /// their fsyncs need not journal a growing file size (measured: about three times faster group commits here).
    /// A zero length field marks the end of the records.
    /// </summary>
    private static void Preallocate(FileStream stream, long size)
    {
        var zeros = new byte[Math.Min(size, 1024 * 1024)];
        stream.Position = 0;
        for (long written = 0; written < size; written += zeros.Length)
        {
            stream.Write(zeros, 0, (int)Math.Min(zeros.Length, size - written));
        }

        stream.Flush(flushToDisk: true);
        stream.Position = 0;
    }

    private static void WriteRecord(ArrayBufferWriter<byte> buffer, long sequence, long enqueuedMs, PendingWrite pending)
    {
        var span = buffer.GetSpan(pending.Size)[..pending.Size];
        var body = span[8..];
        BinaryPrimitives.WriteInt64LittleEndian(body, sequence);
        BinaryPrimitives.WriteInt64LittleEndian(body[8..], enqueuedMs);
        var topicLength = Encoding.UTF8.GetBytes(pending.Topic, body[18..]);
        BinaryPrimitives.WriteUInt16LittleEndian(body[16..], (ushort)topicLength);
        pending.Payload.Span.CopyTo(body[(18 + topicLength)..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], Crc32C(body));
        buffer.Advance(pending.Size);
    }

    /// <summary>Drops expired messages at the head. Caller holds the cursor lock.</summary>
    private void ExpireLocked()
    {
        var cutoff = _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)_options.MaxAge.TotalMilliseconds;
        lock (_gate)
        {
            if (_oldestMs >= cutoff)
            {
                return;
            }
        }

        var (count, bytes, last) = ConsumeLocked(record => record.EnqueuedMs < cutoff);
        if (count > 0)
        {
            CommitConsumedLocked(last, count, bytes);
            Interlocked.Add(ref _droppedExpired, count);
            Log.Dropped(_logger, count, "expired");
        }
    }

    /// <summary>Moves the cursor past the records <paramref name="predicate"/> accepts, in order. Caller holds the cursor lock.</summary>
    private (long Count, long Bytes, long Last) ConsumeLocked(Func<Record, bool> predicate)
    {
        long count = 0;
        long bytes = 0;
        long last = _consumed;
        _cursor = Scan(_cursor, (in Record record, ReadOnlySpan<byte> _) =>
        {
            if (!predicate(record))
            {
                return false;
            }

            count++;
            bytes += record.Size;
            last = record.Sequence;
            return true;
        }, headersOnly: true);
        return (count, bytes, last);
    }

    /// <summary>Persists the consumed sequence, updates depth, bytes and oldest age, and deletes consumed segments.</summary>
    private void CommitConsumedLocked(long sequence, long count, long bytes)
    {
        _peekEnd = null;
        WriteAck(sequence);
        _consumed = sequence;
        long oldest = long.MaxValue;
        Scan(_cursor, (in Record record, ReadOnlySpan<byte> _) =>
        {
            oldest = record.EnqueuedMs;
            return false;
        }, headersOnly: true);
        lock (_gate)
        {
            _depth -= count;
            _bytes -= bytes;
            _oldestMs = oldest;
        }

        DeleteConsumedSegments();
    }

    private void DeleteConsumedSegments()
    {
        List<Segment> doomed;
        lock (_gate)
        {
            var cursorIndex = _segments.IndexOf(_cursor.Segment);
            doomed = _segments.Take(Math.Max(0, cursorIndex)).Where(s => s != _active).ToList();
            _segments.RemoveAll(doomed.Contains);
        }

        foreach (var segment in doomed)
        {
            try
            {
                File.Delete(segment.Path);
            }
            catch (IOException e)
            {
                Log.WriteFailed(_logger, $"deleting consumed segment {segment.Path}: {e.Message}", e);
            }
        }
    }

    private void WriteAck(long sequence)
    {
        Span<byte> slot = stackalloc byte[32];
        slot.Clear();
        var generation = ++_ackGeneration;
        BinaryPrimitives.WriteInt64LittleEndian(slot, sequence);
        BinaryPrimitives.WriteInt64LittleEndian(slot[8..], generation);
        BinaryPrimitives.WriteUInt32LittleEndian(slot[16..], Crc32C(slot[..16]));
        _ackFile.Position = (generation % 2) * 32;
        _ackFile.Write(slot);
        _ackFile.Flush(flushToDisk: true);
    }

    private static (long Consumed, long Generation) ReadAck(FileStream file)
    {
        Span<byte> data = stackalloc byte[64];
        data.Clear();
        file.Position = 0;
        var read = 0;
        while (read < 64)
        {
            var n = file.Read(data[read..]);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        (long Consumed, long Generation) best = (0, 0);
        for (var i = 0; i < 2; i++)
        {
            var slot = data.Slice(i * 32, 32);
            var generation = BinaryPrimitives.ReadInt64LittleEndian(slot[8..]);
            if (generation > best.Generation && BinaryPrimitives.ReadUInt32LittleEndian(slot[16..]) == Crc32C(slot[..16]))
            {
                best = (BinaryPrimitives.ReadInt64LittleEndian(slot), generation);
            }
        }

        return best;
    }

    private static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }

    private delegate bool RecordVisitor(in Record record, ReadOnlySpan<byte> body);

    /// <summary>
    /// Reads committed records from <paramref name="start"/> onwards, calling <paramref name="visitor"/> until it returns
    /// false or the log ends; returns the position of the first record not consumed. A record failing its CRC inside the
    /// committed log means the disk changed under us: that is an error.
    /// </summary>
    private Position Scan(Position start, RecordVisitor visitor, bool headersOnly = false)
    {
        // Records of a batch still being written (flushed before a segment roll) are not visible until it commits.
        var limit = LastSequence;
        var position = start;
        while (true)
        {
            long committed;
            Segment? next;
            lock (_gate)
            {
                committed = position.Segment.Length;
                var index = _segments.IndexOf(position.Segment);
                next = index >= 0 && index + 1 < _segments.Count ? _segments[index + 1] : null;
            }

            if (position.Offset >= committed)
            {
                if (next is null)
                {
                    return position;
                }

                position = new Position(next, 0);
                continue;
            }

            using var handle = File.OpenHandle(position.Segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            while (position.Offset < committed)
            {
                var want = (int)Math.Min(_chunk.Length, committed - position.Offset);
                var got = ReadFully(handle, _chunk.AsSpan(0, want), position.Offset);
                var span = _chunk.AsSpan(0, got);
                var used = 0;
                while (span.Length - used >= 8)
                {
                    var length = BinaryPrimitives.ReadUInt32LittleEndian(span[used..]);
                    var size = 8 + (long)length;
                    if (length < 18 || size > MaxOverheadBytes + _options.MaxMessageBytes)
                    {
                        throw new InvalidDataException($"corrupt record at offset {position.Offset + used} of {position.Segment.Path}");
                    }

                    if (span.Length - used < size)
                    {
                        break;
                    }

                    var body = span.Slice(used + 8, (int)length);
                    var record = new Record(BinaryPrimitives.ReadInt64LittleEndian(body), BinaryPrimitives.ReadInt64LittleEndian(body[8..]), (int)size);
                    if (!headersOnly && BinaryPrimitives.ReadUInt32LittleEndian(span[(used + 4)..]) != Crc32C(body))
                    {
                        throw new InvalidDataException($"record {record.Sequence} in {position.Segment.Path} fails its CRC");
                    }

                    if (record.Sequence > limit || !visitor(record, body))
                    {
                        return new Position(position.Segment, position.Offset + used);
                    }

                    used += (int)size;
                }

                if (used == 0)
                {
                    // One record larger than the chunk: grow the chunk and read again.
                    _chunk = new byte[Math.Max(_chunk.Length * 2, MaxOverheadBytes + _options.MaxMessageBytes)];
                    continue;
                }

                position = new Position(position.Segment, position.Offset + used);
            }
        }
    }

    private static int ReadFully(Microsoft.Win32.SafeHandles.SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = RandomAccess.Read(handle, buffer[total..], offset + total);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    private void CreateInstruments(Meter meter)
    {
        meter.CreateObservableGauge("verge.gateway.upstream.queue.depth", () => Depth, "{message}", "Unacknowledged messages in the upstream queue");
        meter.CreateObservableGauge("verge.gateway.upstream.queue.bytes", () => Bytes, "By", "Bytes of unacknowledged messages in the upstream queue");
        meter.CreateObservableGauge("verge.gateway.upstream.queue.oldest_age", () => OldestAge.TotalSeconds, "s", "Age of the oldest unacknowledged message");
        meter.CreateObservableCounter("verge.gateway.upstream.queue.enqueued", () => Enqueued, "{message}", "Messages written to the upstream queue");
        meter.CreateObservableCounter("verge.gateway.upstream.queue.acked", () => Acked, "{message}", "Messages acknowledged by the receiver");
        meter.CreateObservableCounter("verge.gateway.upstream.queue.dropped", () => new[]
        {
            new Measurement<long>(DroppedOverflow, new KeyValuePair<string, object?>("reason", "overflow")),
            new Measurement<long>(DroppedExpired, new KeyValuePair<string, object?>("reason", "expired")),
            new Measurement<long>(Refused, new KeyValuePair<string, object?>("reason", "refused")),
        }, "{message}", "Messages dropped or refused, by reason");
    }

    private static RecoveredState Recover(DurableQueueOptions options, long consumed, ILogger logger)
    {
        var files = Directory.GetFiles(options.Directory, "*" + SegmentSuffix)
            .Select(path => (Path: path, First: long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var first) ? first : -1))
            .Where(f => f.First >= 0)
            .OrderBy(f => f.First)
            .ToList();
        var state = new RecoveredState();
        var buffer = new byte[ChunkBytes];
        for (var i = 0; i < files.Count; i++)
        {
            var segment = new Segment(files[i].First, files[i].Path);
            using (var stream = new FileStream(segment.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0))
            {
                var fileLength = stream.Length;
                long offset = 0;
                var header = new byte[8];
                while (offset + 8 <= fileLength)
                {
                    stream.Position = offset;
                    stream.ReadExactly(header);
                    var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
                    var size = 8 + (long)length;
                    if (length < 18 || size > MaxOverheadBytes + options.MaxMessageBytes || offset + size > fileLength)
                    {
                        break;
                    }

                    if (buffer.Length < length)
                    {
                        buffer = new byte[length];
                    }

                    var body = buffer.AsSpan(0, (int)length);
                    stream.ReadExactly(body);
                    if (BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)) != Crc32C(body))
                    {
                        break;
                    }

                    var sequence = BinaryPrimitives.ReadInt64LittleEndian(body);
                    if (sequence <= state.LastSequence)
                    {
                        break;
                    }

                    state.LastSequence = sequence;
                    if (sequence > consumed)
                    {
                        if (state.Cursor is null)
                        {
                            state.Cursor = new Position(segment, offset);
                            state.OldestMs = BinaryPrimitives.ReadInt64LittleEndian(body[8..]);
                        }

                        state.Depth++;
                        state.Bytes += size;
                    }

                    offset += size;
                }

                if (offset < fileLength && !IsZero(stream, offset, fileLength))
                {
                    // Zero what follows the last valid record (a torn or corrupt write) so it can never be read as records.
                    Log.TornTail(logger, segment.Path, offset, fileLength - offset);
                    stream.Position = offset;
                    var zeros = new byte[64 * 1024];
                    for (var at = offset; at < fileLength; at += zeros.Length)
                    {
                        stream.Write(zeros, 0, (int)Math.Min(zeros.Length, fileLength - at));
                    }

                    stream.Flush(flushToDisk: true);
                }

                segment.Length = offset;
            }

            if (segment.Length == 0 && i < files.Count - 1)
            {
                File.Delete(segment.Path);
                continue;
            }

            state.Segments.Add(segment);
        }

        return state;
    }

    private static bool IsZero(FileStream stream, long from, long to)
    {
        var buffer = new byte[64 * 1024];
        stream.Position = from;
        for (var at = from; at < to;)
        {
            var n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, to - at));
            if (n == 0)
            {
                return true;
            }

            if (buffer.AsSpan(0, n).ContainsAnyExcept((byte)0))
            {
                return false;
            }

            at += n;
        }

        return true;
    }

    private sealed class RecoveredState
    {
        public List<Segment> Segments { get; } = [];

        public long LastSequence { get; set; }

        public Position? Cursor { get; set; }

        public long Depth { get; set; }

        public long Bytes { get; set; }

        public long OldestMs { get; set; } = long.MaxValue;
    }

    private sealed class Segment(long firstSequence, string path)
    {
        public long FirstSequence { get; } = firstSequence;

        public string Path { get; } = path;

        /// <summary>Bytes durably written (guarded by the queue's gate once the queue is open).</summary>
        public long Length { get; set; }
    }

    private readonly record struct Position(Segment Segment, long Offset);

    private readonly record struct Record(long Sequence, long EnqueuedMs, int Size);

    private sealed record PeekEnd(long Sequence, Position Position, long Count, long Bytes);

    private sealed class PendingWrite(string topic, ReadOnlyMemory<byte> payload, int size)
    {
        public string Topic { get; } = topic;

        public ReadOnlyMemory<byte> Payload { get; } = payload;

        public int Size { get; } = size;

        public TaskCompletionSource<EnqueueResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Upstream queue opened in {Directory}: {Depth} unacknowledged, consumed through {Consumed}, next sequence {Next}")]
        public static partial void Opened(ILogger logger, string directory, long depth, long consumed, long next);

        [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Upstream queue segment {Path}: cut a torn or corrupt tail of {Bytes} bytes at offset {Offset}")]
        public static partial void TornTail(ILogger logger, string path, long offset, long bytes);

        [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Upstream queue dropped {Count} messages ({Reason})")]
        public static partial void Dropped(ILogger logger, long count, string reason);

        [LoggerMessage(EventId = 6104, Level = LogLevel.Error, Message = "Upstream queue write failed: {Reason}")]
        public static partial void WriteFailed(ILogger logger, string reason, Exception exception);
    }
}
