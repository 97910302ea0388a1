// Writes keys into a SQLite store as fast as it can from several concurrent callers and prints "ack <key> ok" for
// each create the store acknowledged, until the process is killed. The crash test kills it with SIGKILL mid-writes
// and checks that every acknowledged key survived.
using System.Globalization;
using Verge.Store.Sqlite;

if (args.Length < 2)
{
    await Console.Error.WriteLineAsync("usage: Verge.Store.CrashWriter <database path> <concurrent writers>");
    return 2;
}

int writers = int.Parse(args[1], CultureInfo.InvariantCulture);
await using var store = await SqliteKeyValueStore.OpenAsync(args[0]);
var output = Console.Out;
var value = new byte[128];
await Task.WhenAll(Enumerable.Range(0, writers).Select(writer => Task.Run(async () =>
{
    for (long i = 0; ; i++)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"/crash/w{writer:D3}/{i:D9}");
        await store.CreateAsync(key, value);
        await output.WriteLineAsync($"ack {key} ok");
    }
})));
return 0;
