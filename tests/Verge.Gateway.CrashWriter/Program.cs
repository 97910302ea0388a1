// Enqueues messages into a durable upstream queue as fast as it can from several concurrent callers and prints
// "ack <sequence> <payload>" for each enqueue the queue reported durable, until the process is killed. The crash test
// kills it with SIGKILL mid-stream and checks that every acknowledged message survived, in order.
using System.Globalization;
using System.Text;
using Verge.Gateway.Upstream;

if (args.Length < 2)
{
    await Console.Error.WriteLineAsync("usage: Verge.Gateway.CrashWriter <queue directory> <concurrent writers>");
    return 2;
}

int writers = int.Parse(args[1], CultureInfo.InvariantCulture);
var queue = DurableQueue.Open(new DurableQueueOptions { Directory = args[0], GatewayId = "crash", SegmentBytes = 64 * 1024 });
var output = Console.Out;
var gate = new object();
await Task.WhenAll(Enumerable.Range(0, writers).Select(writer => Task.Run(async () =>
{
    for (long i = 0; ; i++)
    {
        var payload = string.Create(CultureInfo.InvariantCulture, $"w{writer:D3}-{i:D9}-{new string('x', 100)}");
        var result = await queue.EnqueueAsync("sites/s1/crash", Encoding.UTF8.GetBytes(payload));
        lock (gate)
        {
            output.WriteLine($"ack {result.Sequence} {payload}");
            output.Flush();
        }
    }
})));
return 0;
