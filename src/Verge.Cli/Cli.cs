using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json;
using System.Text.RegularExpressions;
using Verge.Cli.Client;
using Verge.Cli.Commands;
using Verge.Cli.Output;

namespace Verge.Cli;

/// <summary>The <c>verge</c> command line: builds the verbs and runs one invocation, turning failures into one line and exit code 1.</summary>
internal static partial class Cli
{
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct = default) =>
        RunAsync(args, new CliContext { Out = stdout, Error = stderr }, ct);

    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken ct = default)
    {
        var root = BuildRoot(context);
        var parse = root.Parse(args);

        // A word that looks like a flag but is none would otherwise be taken as a name (`delete cm x --dry-run`
        // deleted x, then looked for an object called "--dry-run"): kubectl refuses it before doing anything.
        // Words after `--` are arguments whatever they look like (`verge exec POD -- ls -l`).
        var afterDoubleDash = new HashSet<Token>(parse.Tokens.SkipWhile(t => t.Type != TokenType.DoubleDash).Skip(1), ReferenceEqualityComparer.Instance);
        var unknownFlag = parse.CommandResult.Children.OfType<ArgumentResult>()
            .SelectMany(a => a.Tokens).Where(t => !afterDoubleDash.Contains(t)).Select(t => t.Value).FirstOrDefault(v => v.Length > 1 && v[0] == '-');
        if (parse.Errors.Count > 0 || unknownFlag is not null)
        {
            // One line instead of the usage text: scripts read stderr, people run --help.
            var path = new List<string>();
            for (var result = parse.CommandResult; result is not null; result = result.Parent as CommandResult)
            {
                path.Insert(0, result.Command == root ? "verge" : result.Command.Name);
            }

            var messages = parse.Errors.Count > 0
                ? string.Join(' ', parse.Errors.Select(e => WhiteSpace().Replace(e.Message, " ").Trim()))
                : $"unknown flag: {unknownFlag}";
            Terminal.WriteError(context, $"error: {messages.TrimEnd('.')}. See '{string.Join(' ', path)} --help'.");
            return 1;
        }

        var invocation = new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        };
        var code = await GuardAsync(context, () => parse.InvokeAsync(invocation, ct));
        await context.Out.FlushAsync(CancellationToken.None);
        await context.Error.FlushAsync(CancellationToken.None);
        return code;
    }

    public static RootCommand BuildRoot(CliContext context)
    {
        var root = new RootCommand("Verge: an edge orchestrator that speaks the Kubernetes API");
        root.SetAction(parse => new System.CommandLine.Help.HelpAction().Invoke(parse));

        // --version says what `verge version` says (it used to print the assembly's version, 1.0.0).
        if (root.Options.OfType<VersionOption>().FirstOrDefault() is { } version)
        {
            version.Action = new PrintVersion(context);
        }

        root.Subcommands.Add(ServerCommand.Create(context, up: false));
        root.Subcommands.Add(ServerCommand.Create(context, up: true));
        root.Subcommands.Add(ApplyCommand.Create(context));
        root.Subcommands.Add(GetCommand.Create(context));
        root.Subcommands.Add(DescribeCommand.Create(context));
        root.Subcommands.Add(DeleteCommand.Create(context));
        root.Subcommands.Add(LogsCommand.Create(context));
        root.Subcommands.Add(ExecCommand.Create(context));
        root.Subcommands.Add(ImageCommand.Create(context));
        root.Subcommands.Add(VersionCommand.Create(context));
        root.Subcommands.Add(SimCommand.Create(context));
        root.Subcommands.Add(Verge.Agent.Hosting.AgentCommandLine.Create("agent", Verge.Agent.Hosting.AgentHost.RunAsync));
        root.Subcommands.Add(Verge.Agent.Hosting.AgentCommandLine.CreateGateway("gateway", Verge.Agent.Hosting.AgentHost.RunAsync));
        root.Subcommands.Add(TokenCommand.Create(context));
        return root;
    }

    private sealed class PrintVersion(CliContext context) : System.CommandLine.Invocation.SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            context.Out.WriteLine(Verge.ApiServer.Hosting.VersionInfo.Verge);
            return 0;
        }
    }

    /// <summary>Runs a verb; every failure becomes one line on stderr and exit code 1, never a stack trace.</summary>
    internal static async Task<int> GuardAsync(CliContext context, Func<Task<int>> action)
    {
        string line;
        try
        {
            return await action();
        }
        catch (CliException e)
        {
            line = e.Message;
        }
        catch (ApiStatusException e)
        {
            line = e.ToErrorLine();
        }
        catch (OperationCanceledException)
        {
            return 130;
        }
        catch (JsonException e)
        {
            line = $"error: the server sent a response that is not valid JSON: {e.Message}";
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException
            or FormatException or HttpRequestException or NotSupportedException or System.Security.Cryptography.CryptographicException)
        {
            line = "error: " + e.Message;
        }
#pragma warning disable CA1031 // The last resort: a CLI prints one line, not a stack trace.
        catch (Exception e)
#pragma warning restore CA1031
        {
            line = $"error: unexpected {e.GetType().Name}: {e.Message}";
        }

        Terminal.WriteError(context, line);
        return 1;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();
}
