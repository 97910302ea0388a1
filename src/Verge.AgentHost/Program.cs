using System.CommandLine;
using System.Runtime.InteropServices;
using Verge.Agent.Hosting;

MallocArenas.LimitToOne();

using var cts = new CancellationTokenSource();

void Stop(PosixSignalContext signal)
{
    signal.Cancel = true;
    cts.Cancel();
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

var root = AgentCommandLine.Configure(new RootCommand(AgentCommandLine.Description), AgentHost.RunAsync);
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    await Console.Error.WriteLineAsync($"error: {string.Join(' ', parse.Errors.Select(e => e.Message))} See 'verge-agent --help'.");
    return 1;
}

try
{
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cts.Token);
}
catch (OperationCanceledException) when (cts.IsCancellationRequested)
{
    return 0;
}
#pragma warning disable CA1031 // The agent's last resort: one line for the operator, not a stack trace.
catch (Exception e) when (e is not OutOfMemoryException)
#pragma warning restore CA1031
{
    await Console.Error.WriteLineAsync($"error: {e.Message}");
    return 1;
}
