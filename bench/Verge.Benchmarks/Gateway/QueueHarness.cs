using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Verge.Gateway.Upstream;

namespace Verge.Benchmarks.Gateway;

/// <summary>Settings of the upstream queue run.</summary>
internal sealed class QueueHarnessOptions
{
    public int Messages { get; private set; } = 200_000;

    public int Size { get; private set; } = 200;

    public int Producers { get; private set; } = 64;

    public int Batch { get; private set; } = 1000;

    public string? Directory { get; private set; }

    /// <summary>Also run the same load against a SQLite WAL table with the same group commit, for comparison.</summary>
    public bool Sqlite { get; private set; }

    public static QueueHarnessOptions Parse(string[] args)
    {
        var options = new QueueHarnessOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--sqlite")
            {
                options.Sqlite = true;
                continue;
            }

            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--messages": options.Messages = RulesHarnessOptions.Positive(name, value); break;
                case "--size": options.Size = RulesHarnessOptions.Positive(name, value); break;
                case "--producers": options.Producers = RulesHarnessOptions.Positive(name, value); break;
                case "--batch": options.Batch = RulesHarnessOptions.Positive(name, value); break;
                case "--dir": options.Directory = value; break;
                default: throw new ArgumentException($"unknown option {name}");
            }
        }

        return options;
    }
}

/// <summary>
/// Enqueue throughput (concurrent producers, each waiting for durability, so the queue group-commits) and drain
/// throughput (peek a batch, acknowledge it) of the durable upstream queue on this machine's disk.
/// </summary>
internal static class QueueHarness
{
    public static async Task<int> RunAsync(QueueHarnessOptions options)
    {
        var root = options.Directory ?? System.IO.Directory.CreateTempSubdirectory("verge-queue-bench-").FullName;
        try
        {
            var payload = new byte[options.Size];
            Random.Shared.NextBytes(payload);
            Console.WriteLine($"queue: {options.Messages:N0} messages of {options.Size} bytes, {options.Producers} producers, drained in batches of {options.Batch}, in {root}");
            await using (var queue = DurableQueue.Open(new DurableQueueOptions { Directory = Path.Combine(root, "segments"), MaxBytes = 4L * 1024 * 1024 * 1024 }))
            {
                var (elapsed, cpu) = await Measure(() => Produce(options, (ct) => queue.EnqueueAsync("sites/s1/bench", payload, ct).AsTask()));
                Report("segments enqueue", options, elapsed, cpu, queue.Bytes);
                var bytes = queue.Bytes;
                (elapsed, cpu) = await Measure(async () =>
                {
                    while (true)
                    {
                        var batch = await queue.PeekAsync(options.Batch);
                        if (batch.Count == 0)
                        {
                            return;
                        }

                        await queue.AckAsync(batch[^1].Sequence);
                    }
                });
                Report("segments peek+ack", options, elapsed, cpu, bytes);
            }

            if (options.Sqlite)
            {
                await RunSqliteAsync(options, Path.Combine(root, "queue.db"), payload);
            }

            return 0;
        }
        finally
        {
            if (options.Directory is null)
            {
                System.IO.Directory.Delete(root, recursive: true);
            }
        }
    }

    private static async Task Produce(QueueHarnessOptions options, Func<CancellationToken, Task> enqueue)
    {
        var remaining = options.Messages;
        await Task.WhenAll(Enumerable.Range(0, options.Producers).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                await enqueue(CancellationToken.None);
            }
        })));
    }

    private static async Task<(TimeSpan Elapsed, TimeSpan Cpu)> Measure(Func<Task> action)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await action();
        return (clock.Elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpu);
    }

    private static void Report(string label, QueueHarnessOptions options, TimeSpan elapsed, TimeSpan cpu, long bytes)
    {
        var rate = options.Messages / elapsed.TotalSeconds;
        Console.WriteLine($"  {label,-22} {rate,10:N0} msgs/s {(double)options.Messages * options.Size / elapsed.TotalSeconds / 1e6,8:F1} MB/s payload  ({elapsed.TotalSeconds:F2} s, {cpu.TotalSeconds:F2} s CPU{(bytes > 0 ? $", {bytes / 1e6:F1} MB framed" : "")})");
    }

    /// <summary>The alternative considered: a SQLite WAL table, synchronous=FULL, one transaction per group commit.</summary>
    private static async Task RunSqliteAsync(QueueHarnessOptions options, string path, byte[] payload)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=false");
        await connection.OpenAsync();
        await using (var setup = connection.CreateCommand())
        {
            setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE q (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL);";
            await setup.ExecuteNonQueryAsync();
        }

        var channel = Channel.CreateUnbounded<TaskCompletionSource>();
        var writer = Task.Run(async () =>
        {
            var batch = new List<TaskCompletionSource>();
            await using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO q (at, topic, payload) VALUES ($at, 'sites/s1/bench', $payload)";
            var at = insert.Parameters.Add("$at", SqliteType.Integer);
            var blob = insert.Parameters.Add("$payload", SqliteType.Blob);
            while (await channel.Reader.WaitToReadAsync())
            {
                batch.Clear();
                while (batch.Count < 8192 && channel.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                await using var transaction = connection.BeginTransaction();
                insert.Transaction = transaction;
                foreach (var _ in batch)
                {
                    at.Value = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                    blob.Value = payload;
                    await insert.ExecuteNonQueryAsync();
                }

                await transaction.CommitAsync();
                foreach (var item in batch)
                {
                    item.SetResult();
                }
            }
        });

        var (elapsed, cpu) = await Measure(() => Produce(options, _ =>
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            channel.Writer.TryWrite(done);
            return done.Task;
        }));
        channel.Writer.Complete();
        await writer;
        Report("sqlite enqueue", options, elapsed, cpu, 0);

        (elapsed, cpu) = await Measure(async () =>
        {
            await using var select = connection.CreateCommand();
            select.CommandText = "SELECT seq, at, topic, payload FROM q WHERE seq > $after ORDER BY seq LIMIT $limit";
            var after = select.Parameters.Add("$after", SqliteType.Integer);
            select.Parameters.AddWithValue("$limit", options.Batch);
            await using var delete = connection.CreateCommand();
            delete.CommandText = "DELETE FROM q WHERE seq <= $upTo";
            var upTo = delete.Parameters.Add("$upTo", SqliteType.Integer);
            long last = 0;
            while (true)
            {
                after.Value = last;
                var count = 0;
                await using (var reader = await select.ExecuteReaderAsync())
                {
                    while (await reader.ReadAsync())
                    {
                        last = reader.GetInt64(0);
                        _ = (byte[])reader["payload"];
                        count++;
                    }
                }

                if (count == 0)
                {
                    return;
                }

                upTo.Value = last;
                await delete.ExecuteNonQueryAsync();
            }
        });
        Report("sqlite select+delete", options, elapsed, cpu, 0);
    }
}
