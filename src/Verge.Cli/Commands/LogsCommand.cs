using System.CommandLine;
using System.Globalization;
using Verge.Cli.Client;

namespace Verge.Cli.Commands;

/// <summary>
/// <c>verge logs POD [-c CONTAINER] [-f] [--tail N] [--previous]</c>: a pod's log through the API's pods/log
/// subresource (relayed from the pod's node), as <c>kubectl logs</c> prints it; with -f it follows until the
/// container's log ends or Ctrl-C.
/// </summary>
internal static class LogsCommand
{
    public static Command Create(CliContext context)
    {
        var pod = new Argument<string>("POD") { Description = "The pod (or pod/NAME)" };
        var container = new Option<string?>("--container", "-c") { Description = "The container (default: the pod's only one)" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep streaming new lines" };
        var tail = new Option<long>("--tail")
        {
            Description = "Lines from the end to show (-1: all)",
            DefaultValueFactory = _ => -1,
        };
        var previous = new Option<bool>("--previous", "-p") { Description = "The log of the previous, terminated instance of the container" };
        var timestamps = new Option<bool>("--timestamps") { Description = "Prefix each line with its RFC 3339 time" };
        var options = new ClientOptions();
        var command = new Command("logs", "Print the log of a container in a pod");
        command.Arguments.Add(pod);
        command.Options.Add(container);
        command.Options.Add(follow);
        command.Options.Add(tail);
        command.Options.Add(previous);
        command.Options.Add(timestamps);
        options.AddTo(command);
        command.SetAction((parse, ct) => Cli.GuardAsync(context, async () =>
        {
            string Path(string? ns) => LogPath(parse.GetValue(pod)!, ns, parse.GetValue(container), parse.GetValue(follow),
                parse.GetValue(tail), parse.GetValue(previous), parse.GetValue(timestamps));

            // Bad arguments fail before the kubeconfig is read.
            Path(null);
            using var session = options.Open(context, parse);
            await session.Client.CopyTextAsync(Path(session.NamespaceOr(parse.GetValue(options.Namespace))), context.Out, ct);
            return 0;
        }));
        return command;
    }

    /// <summary>The pod's name from POD or pod/POD; throws a usage error naming <paramref name="verb"/> otherwise.</summary>
    internal static string PodName(string pod, string verb)
    {
        var name = pod.StartsWith("pod/", StringComparison.Ordinal) ? pod[4..]
            : pod.StartsWith("pods/", StringComparison.Ordinal) ? pod[5..]
            : pod;
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal))
        {
            throw new CliException($"error: \"{pod}\" is not a pod name: verge {verb} takes POD or pod/POD");
        }

        return name;
    }

    /// <summary>The pods/log path with its query; throws on bad arguments (with a null namespace it only validates).</summary>
    internal static string LogPath(string pod, string? ns, string? container, bool follow, long tail, bool previous, bool timestamps)
    {
        var name = PodName(pod, "logs");
        if (tail < -1)
        {
            throw new CliException($"error: --tail must be -1 (all lines) or a count of lines, got {tail}");
        }

        if (ns is null)
        {
            return "";
        }

        var query = new List<string>();
        if (!string.IsNullOrEmpty(container))
        {
            query.Add("container=" + Uri.EscapeDataString(container));
        }

        if (follow)
        {
            query.Add("follow=true");
        }

        if (tail >= 0)
        {
            query.Add("tailLines=" + tail.ToString(CultureInfo.InvariantCulture));
        }

        if (previous)
        {
            query.Add("previous=true");
        }

        if (timestamps)
        {
            query.Add("timestamps=true");
        }

        var path = $"/api/v1/namespaces/{Uri.EscapeDataString(ns)}/pods/{Uri.EscapeDataString(name)}/log";
        return query.Count == 0 ? path : path + "?" + string.Join('&', query);
    }
}
