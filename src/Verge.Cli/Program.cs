using System.Runtime.InteropServices;
using Verge.Cli;

using var cts = new CancellationTokenSource();

void Stop(PosixSignalContext signal)
{
    signal.Cancel = true;
    cts.Cancel();
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

var context = new CliContext
{
    Out = Console.Out,
    Error = Console.Error,
    In = Console.In,
    InBytes = Console.OpenStandardInput(),
    OutBytes = Console.OpenStandardOutput(),
    ErrorBytes = Console.OpenStandardError(),
    InIsTerminal = !Console.IsInputRedirected,
    OutIsTerminal = !Console.IsOutputRedirected,
    ErrorIsTerminal = !Console.IsErrorRedirected,
};
return await Cli.RunAsync(args, context, cts.Token);
