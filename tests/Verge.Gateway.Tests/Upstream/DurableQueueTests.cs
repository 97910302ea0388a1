using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Verge.Gateway.Upstream;

namespace Verge.Gateway.Tests.Upstream;

public sealed class DurableQueueTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("verge-queue-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private DurableQueue Open(Func<DurableQueueOptions, DurableQueueOptions>? configure = null)
    {
        var options = new DurableQueueOptions { Directory = _directory, GatewayId = "gw1", SegmentBytes = 4096 };
        return DurableQueue.Open(configure is null ? options : configure(options), _time);
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static async Task<List<long>> EnqueueAll(DurableQueue queue, IEnumerable<string> payloads)
    {
        var sequences = new List<long>();
        foreach (var payload in payloads)
        {
            var result = await queue.EnqueueAsync("up/t", Bytes(payload));
            Assert.True(result.Accepted);
            sequences.Add(result.Sequence);
        }

        return sequences;
    }

    private static async Task<List<QueuedMessage>> Drain(DurableQueue queue, int batch = 7)
    {
        var all = new List<QueuedMessage>();
        while (true)
        {
            var messages = await queue.PeekAsync(batch);
            if (messages.Count == 0)
            {
                return all;
            }

            all.AddRange(messages);
            await queue.AckAsync(messages[^1].Sequence);
        }
    }

    [Fact]
    public async Task Enqueue_AssignsIncreasingSequencesAndPeekReturnsInOrder()
    {
        await using var queue = Open();

        var sequences = await EnqueueAll(queue, Enumerable.Range(0, 100).Select(i => $"m{i}"));

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), sequences);
        var batch = await queue.PeekAsync(10);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"m{i}"), batch.Select(m => Encoding.UTF8.GetString(m.Payload)));
        Assert.Equal("gw1:1", batch[0].MessageId);
        Assert.Equal("up/t", batch[0].Topic);
        Assert.Equal(_time.GetUtcNow(), batch[0].EnqueuedAt);
        Assert.Equal(100, queue.Depth);
    }

    [Fact]
    public async Task Peek_WithoutAck_ReturnsTheSameMessagesAgain()
    {
        await using var queue = Open();
        await EnqueueAll(queue, ["a", "b", "c"]);

        var first = await queue.PeekAsync(2);
        var again = await queue.PeekAsync(2);

        Assert.Equal(first.Select(m => m.Sequence), again.Select(m => m.Sequence));
    }

    [Fact]
    public async Task Ack_ConsumesUpToTheSequenceAndIsIdempotent()
    {
        await using var queue = Open();
        await EnqueueAll(queue, Enumerable.Range(0, 10).Select(i => $"m{i}"));

        await queue.PeekAsync(5);
        await queue.AckAsync(3);
        await queue.AckAsync(2);

        Assert.Equal(4, (await queue.PeekAsync(1))[0].Sequence);
        Assert.Equal(7, queue.Depth);
        Assert.Equal(3, queue.Acked);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await queue.AckAsync(11));
        await queue.AckAsync(10);
        Assert.Empty(await queue.PeekAsync(10));
        Assert.Equal(0, queue.Depth);
        Assert.Equal(0, queue.Bytes);
        Assert.Equal(TimeSpan.Zero, queue.OldestAge);
    }

    [Fact]
    public async Task Peek_RespectsMaxBytesButReturnsAtLeastOne()
    {
        await using var queue = Open();
        await EnqueueAll(queue, [new string('a', 500), new string('b', 500)]);

        Assert.Single(await queue.PeekAsync(10, maxBytes: 10));
        Assert.Equal(2, (await queue.PeekAsync(10, maxBytes: 2000)).Count);
    }

    [Fact]
    public async Task Reopen_KeepsUnackedMessagesAndContinuesSequences()
    {
        await using (var queue = Open())
        {
            await EnqueueAll(queue, Enumerable.Range(0, 200).Select(i => $"m{i:D3}-{new string('x', 50)}"));
            var batch = await queue.PeekAsync(120);
            await queue.AckAsync(batch[^1].Sequence);
            Assert.True(queue.SegmentCount > 1);
        }

        await using (var queue = Open())
        {
            Assert.Equal(80, queue.Depth);
            Assert.Equal(120, queue.ConsumedSequence);
            var next = await queue.EnqueueAsync("up/t", Bytes("after"));
            Assert.Equal(201, next.Sequence);
            var all = await Drain(queue);
            Assert.Equal(Enumerable.Range(121, 81).Select(i => (long)i), all.Select(m => m.Sequence));
            Assert.Equal("after", Encoding.UTF8.GetString(all[^1].Payload));
        }

        await using (var queue = Open())
        {
            Assert.Equal(0, queue.Depth);
            Assert.Equal(202, (await queue.EnqueueAsync("up/t", Bytes("x"))).Sequence);
        }
    }

    [Fact]
    public async Task Ack_DeletesFullyConsumedSegments()
    {
        await using var queue = Open();
        await EnqueueAll(queue, Enumerable.Range(0, 300).Select(i => new string('x', 100)));
        var before = Directory.GetFiles(_directory, "*.seg").Length;
        Assert.True(before > 3, $"{before} segments");

        await Drain(queue, batch: 50);

        Assert.Single(Directory.GetFiles(_directory, "*.seg"));
        Assert.Equal(1, queue.SegmentCount);
    }

    [Fact]
    public async Task ConcurrentEnqueues_AreGroupCommittedWithUniqueContiguousSequences()
    {
        await using var queue = Open(o => o with { SegmentBytes = 1024 * 1024 });

        var results = await Task.WhenAll(Enumerable.Range(0, 2000).Select(i => queue.EnqueueAsync("up/t", Bytes($"m{i}")).AsTask()));

        Assert.Equal(Enumerable.Range(1, 2000).Select(i => (long)i), results.Select(r => r.Sequence).Order());
        var drained = await Drain(queue, batch: 333);
        Assert.Equal(results.OrderBy(r => r.Sequence).Select(r => r.Sequence), drained.Select(m => m.Sequence));
    }

    [Fact]
    public async Task DropOldest_WhenFull_DropsTheOldestAndCountsThem()
    {
        await using var queue = Open(o => o with { MaxBytes = 40_000, MaxMessageBytes = 1000, Overflow = OverflowPolicy.DropOldest });
        var payload = new string('x', 970); // 1000 bytes with 26 bytes of framing and the 4-byte topic
        await EnqueueAll(queue, Enumerable.Range(0, 40).Select(_ => payload));
        Assert.Equal(40_000, queue.Bytes);

        await EnqueueAll(queue, Enumerable.Range(0, 5).Select(_ => payload));

        Assert.Equal(40_000, queue.Bytes);
        Assert.Equal(40, queue.Depth);
        Assert.Equal(5, queue.DroppedOverflow);
        Assert.Equal(6, (await queue.PeekAsync(1))[0].Sequence);
    }

    [Fact]
    public async Task DropOldest_AckOfAnAlreadyDroppedBatch_IsANoOp()
    {
        await using var queue = Open(o => o with { MaxBytes = 40_000, MaxMessageBytes = 1000, Overflow = OverflowPolicy.DropOldest });
        var payload = new string('x', 970);
        await EnqueueAll(queue, Enumerable.Range(0, 40).Select(_ => payload));
        var inFlight = await queue.PeekAsync(3);

        await EnqueueAll(queue, Enumerable.Range(0, 10).Select(_ => payload));
        await queue.AckAsync(inFlight[^1].Sequence);

        Assert.Equal(11, (await queue.PeekAsync(1))[0].Sequence);
        Assert.Equal(0, queue.Acked);
    }

    [Fact]
    public async Task RefuseNew_WhenFull_RefusesAndKeepsWhatIsQueued()
    {
        await using var queue = Open(o => o with { MaxBytes = 40_000, MaxMessageBytes = 1000, Overflow = OverflowPolicy.RefuseNew });
        var payload = new string('x', 970);
        await EnqueueAll(queue, Enumerable.Range(0, 40).Select(_ => payload));

        var refused = await queue.EnqueueAsync("up/t", Bytes(payload));

        Assert.False(refused.Accepted);
        Assert.Equal("queue is full (40000 bytes)", refused.Refusal);
        Assert.Equal(1, queue.Refused);
        Assert.Equal(1, (await queue.PeekAsync(1))[0].Sequence);
        await queue.AckAsync(1);
        Assert.True((await queue.EnqueueAsync("up/t", Bytes(payload))).Accepted);
    }

    [Fact]
    public async Task MaxAge_ExpiresOldMessagesOnPeek()
    {
        await using var queue = Open(o => o with { MaxAge = TimeSpan.FromMinutes(10) });
        await EnqueueAll(queue, ["old1", "old2"]);
        _time.Advance(TimeSpan.FromMinutes(6));
        await EnqueueAll(queue, ["new"]);
        Assert.Equal(TimeSpan.FromMinutes(6), queue.OldestAge);

        _time.Advance(TimeSpan.FromMinutes(5));
        var messages = await queue.PeekAsync(10);

        Assert.Equal(["new"], messages.Select(m => Encoding.UTF8.GetString(m.Payload)));
        Assert.Equal(2, queue.DroppedExpired);
        Assert.Equal(1, queue.Depth);
        Assert.Equal(TimeSpan.FromMinutes(5), queue.OldestAge);
    }

    [Fact]
    public async Task Enqueue_WhenPayloadTooLarge_FailsClearly()
    {
        await using var queue = Open(o => o with { MaxMessageBytes = 100 });

        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await queue.EnqueueAsync("t", new byte[101]));

        Assert.StartsWith("payload of 101 bytes is larger than the queue's limit of 100", error.Message);
    }

    [Fact]
    public void Options_WhenInvalid_AreRejected()
    {
        Assert.Throws<ArgumentException>(() => new DurableQueueOptions().Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new DurableQueueOptions { Directory = "d", MaxBytes = 10 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new DurableQueueOptions { Directory = "d", MaxAge = TimeSpan.Zero }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new DurableQueueOptions { Directory = "d", Overflow = (OverflowPolicy)7 }.Validate());
    }

    [Fact]
    public async Task TornTail_IsCutOnOpenAndEverythingBeforeItSurvives()
    {
        await using (var queue = Open(o => o with { SegmentBytes = 1024 * 1024 }))
        {
            await EnqueueAll(queue, Enumerable.Range(0, 10).Select(i => $"m{i}"));
        }

        var segment = Directory.GetFiles(_directory, "*.seg").Single();
        const int intact = 10 * (DurableQueue.FixedBytes + 4 + 2); // ten records of topic "up/t" and payload "mN"

        // A crash mid-write: the next record's header reached the disk, its body only in part.
        await using (var file = new FileStream(segment, FileMode.Open))
        {
            file.Position = intact;
            file.Write([60, 0, 0, 0, 1, 2, 3, 4, 11, 0, 0, 0, 0, 0]);
        }

        await using (var queue = Open(o => o with { SegmentBytes = 1024 * 1024 }))
        {
            Assert.Equal(10, queue.Depth);
            await using (var file = new FileStream(segment, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            {
                var tail = new byte[14];
                file.Position = intact;
                file.ReadExactly(tail);
                Assert.All(tail, b => Assert.Equal(0, b));
            }

            Assert.Equal(11, (await queue.EnqueueAsync("up/t", Bytes("m10"))).Sequence);
            Assert.Equal(Enumerable.Range(0, 11).Select(i => $"m{i}"), (await Drain(queue)).Select(m => Encoding.UTF8.GetString(m.Payload)));
        }
    }

    [Fact]
    public async Task CorruptLastRecord_FailsItsCrcAndIsDropped()
    {
        await using (var queue = Open(o => o with { SegmentBytes = 1024 * 1024 }))
        {
            await EnqueueAll(queue, ["a", "b", "c"]);
        }

        var segment = Directory.GetFiles(_directory, "*.seg").Single();
        var bytes = await File.ReadAllBytesAsync(segment);
        bytes[(3 * (DurableQueue.FixedBytes + 4 + 1)) - 1] ^= 0xFF; // the last payload byte of the third record
        await File.WriteAllBytesAsync(segment, bytes);

        await using (var queue = Open(o => o with { SegmentBytes = 1024 * 1024 }))
        {
            Assert.Equal(["a", "b"], (await Drain(queue)).Select(m => Encoding.UTF8.GetString(m.Payload)));
        }
    }

    [Fact]
    public async Task TornAckFile_FallsBackToTheOtherSlot()
    {
        await using (var queue = Open())
        {
            await EnqueueAll(queue, ["a", "b", "c"]);
            await queue.AckAsync(1);
            await queue.AckAsync(2);
        }

        // The second ack went to slot 0 (generation 2); tear it.
        var ack = Path.Combine(_directory, "ack");
        var bytes = await File.ReadAllBytesAsync(ack);
        bytes[3] ^= 0xFF;
        await File.WriteAllBytesAsync(ack, bytes);

        await using (var queue = Open())
        {
            Assert.Equal(1, queue.ConsumedSequence);
            Assert.Equal(["b", "c"], (await Drain(queue)).Select(m => Encoding.UTF8.GetString(m.Payload)));
        }
    }

    [Fact]
    public async Task Metrics_AreExportedOnTheVergeGatewayMeter()
    {
        var seen = new Dictionary<string, double>();
        using var meters = new Support.TestMeterFactory();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this test's meter: other tests open queues (and gateways) on "Verge.Gateway" meanwhile.
            if (instrument.Meter.Name == "Verge.Gateway" && instrument.Meter.Scope == meters)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var reason = tags.ToArray().FirstOrDefault(t => t.Key == "reason").Value;
            seen[instrument.Name + (reason is null ? "" : "/" + reason)] = value;
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => seen[instrument.Name] = value);
        listener.Start();

        await using var queue = DurableQueue.Open(new DurableQueueOptions { Directory = _directory, GatewayId = "gw1", SegmentBytes = 4096, MaxBytes = 40_000, MaxMessageBytes = 1000, Overflow = OverflowPolicy.RefuseNew }, _time, meters: meters);
        await EnqueueAll(queue, Enumerable.Range(0, 40).Select(_ => new string('x', 970)));
        await queue.EnqueueAsync("up/t", Bytes(new string('x', 970)));
        await queue.AckAsync(10);
        _time.Advance(TimeSpan.FromSeconds(3));
        listener.RecordObservableInstruments();

        Assert.Equal(30, seen["verge.gateway.upstream.queue.depth"]);
        Assert.Equal(30_000, seen["verge.gateway.upstream.queue.bytes"]);
        Assert.Equal(3, seen["verge.gateway.upstream.queue.oldest_age"]);
        Assert.Equal(40, seen["verge.gateway.upstream.queue.enqueued"]);
        Assert.Equal(10, seen["verge.gateway.upstream.queue.acked"]);
        Assert.Equal(1, seen["verge.gateway.upstream.queue.dropped/refused"]);
        Assert.Equal(0, seen["verge.gateway.upstream.queue.dropped/overflow"]);
    }
}
