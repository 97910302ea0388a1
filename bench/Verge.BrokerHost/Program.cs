using Verge.Benchmarks.Gateway;

// verge-broker-host --port PORT [--devices N] [--rule STATEMENT]: the broker benchmark's Verge side, Native AOT.
try
{
    return await BrokerHost.RunAsync(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
