using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Verge.Agent.Pods;

/// <summary>One small action of a plan, run by <see cref="PlanRunner"/>. Throws when it fails.</summary>
internal interface IPodCommand
{
    /// <summary>"start web/app", for logs and metrics.</summary>
    string Describe { get; }

    /// <summary>The command kind ("remove", "pull", "start", "stop"), a metric tag.</summary>
    string Kind { get; }

    Task ExecuteAsync(CancellationToken ct);
}

/// <summary>What the commands act on: the pod worker's container operations.</summary>
internal interface IContainerOperations
{
    string PodDescription { get; }

    Task RemoveAsync(string container, CancellationToken ct);

    Task PullAsync(string container, CancellationToken ct);

    Task StartAsync(StartStep step, CancellationToken ct);

    Task StopAsync(StopStep step, CancellationToken ct);
}

internal sealed class RemoveContainerCommand(IContainerOperations ops, RemoveStep step) : IPodCommand
{
    public string Describe => $"remove {ops.PodDescription}/{step.Container}";

    public string Kind => "remove";

    public Task ExecuteAsync(CancellationToken ct) => ops.RemoveAsync(step.Container, ct);
}

internal sealed class PullImageCommand(IContainerOperations ops, PullStep step) : IPodCommand
{
    public string Describe => $"pull {ops.PodDescription}/{step.Container}";

    public string Kind => "pull";

    public Task ExecuteAsync(CancellationToken ct) => ops.PullAsync(step.Container, ct);
}

internal sealed class StartContainerCommand(IContainerOperations ops, StartStep step) : IPodCommand
{
    public string Describe => $"{(step.Restart ? "restart" : "start")} {ops.PodDescription}/{step.Container}";

    public string Kind => step.Restart ? "restart" : "start";

    public Task ExecuteAsync(CancellationToken ct) => ops.StartAsync(step, ct);
}

internal sealed class StopContainerCommand(IContainerOperations ops, StopStep step) : IPodCommand
{
    public string Describe => $"stop {ops.PodDescription}/{step.Container} ({step.Reason})";

    public string Kind => "stop";

    public Task ExecuteAsync(CancellationToken ct) => ops.StopAsync(step, ct);
}

/// <summary>Logs a command's start, end and failure around the command it wraps.</summary>
internal sealed partial class LoggingCommand(IPodCommand inner, ILogger logger) : IPodCommand
{
    public string Describe => inner.Describe;

    public string Kind => inner.Kind;

    public async Task ExecuteAsync(CancellationToken ct)
    {
        LogRunning(logger, inner.Describe);
        try
        {
            await inner.ExecuteAsync(ct);
            LogDone(logger, inner.Describe);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(logger, inner.Describe, e.Message);
            throw;
        }
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Debug, Message = "Command {Command} running")]
    private static partial void LogRunning(ILogger logger, string command);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Debug, Message = "Command {Command} done")]
    private static partial void LogDone(ILogger logger, string command);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Warning, Message = "Command {Command} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string command, string error);
}

/// <summary>Counts commands and measures their duration (meter "Verge.Agent.Pods").</summary>
internal sealed class MetricsCommand(IPodCommand inner, PodMetrics metrics) : IPodCommand
{
    public string Describe => inner.Describe;

    public string Kind => inner.Kind;

    public async Task ExecuteAsync(CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = "ok";
        try
        {
            await inner.ExecuteAsync(ct);
        }
        catch
        {
            outcome = "error";
            throw;
        }
        finally
        {
            metrics.Record(inner.Kind, outcome, Stopwatch.GetElapsedTime(started));
        }
    }
}

/// <summary>The agent's pod command metrics.</summary>
internal sealed class PodMetrics : IDisposable
{
    private readonly Meter _meter = new("Verge.Agent.Pods");
    private readonly Counter<long> _commands;
    private readonly Histogram<double> _duration;

    public PodMetrics()
    {
        _commands = _meter.CreateCounter<long>("verge.agent.pod.commands", description: "Pod commands run, by kind and outcome");
        _duration = _meter.CreateHistogram<double>("verge.agent.pod.command.duration", unit: "s", description: "Pod command duration");
    }

    public void Record(string kind, string outcome, TimeSpan elapsed)
    {
        var tags = new TagList { { "kind", kind }, { "outcome", outcome } };
        _commands.Add(1, tags);
        _duration.Record(elapsed.TotalSeconds, tags);
    }

    public void Dispose() => _meter.Dispose();
}

/// <summary>
/// Turns plan steps into commands wrapped in the logging and metrics decorators, and runs them: the steps of one
/// container in order, stopping at the first failure (the failing command has already recorded why on the
/// container); one container's failure does not stop another's.
/// </summary>
internal sealed class PlanRunner(IContainerOperations ops, ILogger logger, PodMetrics metrics)
{
    public IPodCommand Create(PlanStep step)
    {
        IPodCommand command = step switch
        {
            RemoveStep remove => new RemoveContainerCommand(ops, remove),
            PullStep pull => new PullImageCommand(ops, pull),
            StartStep start => new StartContainerCommand(ops, start),
            StopStep stop => new StopContainerCommand(ops, stop),
            _ => throw new ArgumentException($"unknown plan step {step.GetType().Name}", nameof(step)),
        };
        return new LoggingCommand(new MetricsCommand(command, metrics), logger);
    }

    /// <summary>Runs the plan; returns how many commands ran to completion.</summary>
    public async Task<int> RunAsync(PodPlan plan, CancellationToken ct)
    {
        var done = 0;
        foreach (var group in plan.Groups)
        {
            foreach (var step in group)
            {
                try
                {
                    await Create(step).ExecuteAsync(ct);
                    done++;
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    break;
                }
            }
        }

        return done;
    }
}
