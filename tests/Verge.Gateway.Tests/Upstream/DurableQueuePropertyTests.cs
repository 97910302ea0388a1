using System.Text;
using CsCheck;
using Microsoft.Extensions.Time.Testing;
using Verge.Gateway.Upstream;

namespace Verge.Gateway.Tests.Upstream;

public sealed class DurableQueuePropertyTests
{
    private enum Op
    {
        Enqueue,
        AckPeeked,
        AckSome,
        Reopen,
    }

    [Fact]
    public async Task AnySequenceOfOperations_MatchesAnInMemoryModel()
    {
        var gen = Gen.Select(Gen.Enum<Op>(), Gen.Int[1, 40]).Array[1, 14];
        await gen.SampleAsync(async ops =>
        {
            var directory = Directory.CreateTempSubdirectory("verge-queue-model-").FullName;
            var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
            var options = new DurableQueueOptions { Directory = directory, GatewayId = "g", SegmentBytes = 4096 };
            var model = new List<(long Sequence, string Payload)>();
            long next = 1;
            var queue = DurableQueue.Open(options, time);
            try
            {
                foreach (var (op, n) in ops)
                {
                    switch (op)
                    {
                        case Op.Enqueue:
                            for (var i = 0; i < n; i++)
                            {
                                var payload = $"p{next}-{new string('x', n * 7)}";
                                var result = await queue.EnqueueAsync("t", Encoding.UTF8.GetBytes(payload));
                                Assert.Equal(next, result.Sequence);
                                model.Add((next++, payload));
                            }

                            break;
                        case Op.AckPeeked:
                            var peeked = await queue.PeekAsync(n);
                            Assert.Equal(model.Take(n).Select(m => m.Sequence), peeked.Select(m => m.Sequence));
                            if (peeked.Count > 0)
                            {
                                await queue.AckAsync(peeked[^1].Sequence);
                                model.RemoveRange(0, peeked.Count);
                            }

                            break;
                        case Op.AckSome when model.Count > 0:
                            var upTo = model[Math.Min(n, model.Count) - 1].Sequence;
                            await queue.AckAsync(upTo);
                            model.RemoveAll(m => m.Sequence <= upTo);
                            break;
                        case Op.Reopen:
                            await queue.DisposeAsync();
                            queue = DurableQueue.Open(options, time);
                            break;
                    }

                    Assert.Equal(model.Count, queue.Depth);
                    Assert.Equal(model.Sum(m => DurableQueue.FixedBytes + 1 + m.Payload.Length), queue.Bytes);
                }

                var rest = await queue.PeekAsync(10_000);
                Assert.Equal(model.Select(m => (m.Sequence, m.Payload)), rest.Select(m => (m.Sequence, Encoding.UTF8.GetString(m.Payload))));
            }
            finally
            {
                await queue.DisposeAsync();
                Directory.Delete(directory, recursive: true);
            }
        }, iter: 40, threads: 1);
    }
}
