using System.CommandLine;
using Verge.Cli.Client;

namespace Verge.Cli.Commands;

/// <summary>The options every client verb takes: --kubeconfig, --context and -n/--namespace.</summary>
internal sealed class ClientOptions
{
    public Option<string?> Kubeconfig { get; } = new("--kubeconfig")
    {
        Description = "Path to the kubeconfig (default: KUBECONFIG, ./.verge/admin.kubeconfig, ~/.kube/config)",
    };

    public Option<string?> Context { get; } = new("--context") { Description = "The kubeconfig context to use" };

    public Option<string?> Namespace { get; } = new("--namespace", "-n") { Description = "The namespace (default: the context's, else default)" };

    public void AddTo(Command command, bool withNamespace = true)
    {
        if (withNamespace)
        {
            command.Options.Add(Namespace);
        }

        command.Options.Add(Kubeconfig);
        command.Options.Add(Context);
    }

    public ClientSession Open(CliContext context, ParseResult parse) =>
        ClientSession.Open(context, parse.GetValue(Kubeconfig), parse.GetValue(Context));
}
