using System.Reflection;
using BenchmarkDotNet.Running;
using Verge.Benchmarks.Agent;
using Verge.Benchmarks.Api;
using Verge.Benchmarks.Cluster;
using Verge.Benchmarks.Gateway;
using Verge.Benchmarks.Micro;
using Verge.Benchmarks.Scheduler;

// Modes: "micro" runs the BenchmarkDotNet hot-path benchmarks, "api" the whole-system control plane harness,
// "scheduler" the scheduler library alone, "cluster" the control plane with hollow nodes, "rules" the gateway's
// data-rule engine, "queue" its durable upstream queue, "gateway-ack" its QoS 1 acknowledgement path, "broker" its MQTT
// broker against mosquitto ("broker-host" is the Verge broker process that run starts), "agent" a real agent process
// against a real server, "agent-layout" the code layout of the Native AOT agent from such a run and "tls-sessions"
// what the API server's TLS session cache costs ("tls-sessions-host" is the server process it starts).
var mode = args.Length > 0 ? args[0] : "";
var rest = args.Length > 0 ? args[1..] : [];
if (mode is "cluster" or "api")
{
    // These modes host the API server in this process: the same thread-pool setting as verge (src/Verge.Cli), set
    // before the thread pool starts. The other modes keep the runtime's default.
    AppContext.SetData("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", "0");
}

try
{
    return await RunAsync(mode, rest);
}
catch (ArgumentException e)
{
    // A bad option: its message and the usage line, not a stack trace.
    await Console.Error.WriteLineAsync($"error: {e.Message}");
    return 2;
}

static async Task<int> RunAsync(string mode, string[] rest)
{
    switch (mode)
    {
        case "micro":
            BenchmarkSwitcher.FromAssembly(Assembly.GetExecutingAssembly()).Run(rest, MicroConfig.Create());
            return 0;
        case "api":
            return await ApiHarness.RunAsync(ApiHarnessOptions.Parse(rest));
        case "scheduler":
            return SchedulerHarness.Run(SchedulerHarnessOptions.Parse(rest));
        case "cluster":
            return await ClusterHarness.RunAsync(ClusterHarnessOptions.Parse(rest));
        case "rules":
            return RulesHarness.Run(RulesHarnessOptions.Parse(rest));
        case "queue":
            return await QueueHarness.RunAsync(QueueHarnessOptions.Parse(rest));
        case "gateway-ack":
            return await AckHarness.RunAsync(AckHarnessOptions.Parse(rest));
        case "broker":
            return await BrokerHarness.RunAsync(BrokerHarnessOptions.Parse(rest));
        case "broker-host":
            return await BrokerHost.RunAsync(rest);
        case "agent":
            return await AgentHarness.RunAsync(AgentHarnessOptions.Parse(rest));
        case "agent-layout":
            return await AgentLayout.RunAsync(rest);
        case "tls-sessions":
            return await TlsSessionHarness.RunAsync(rest);
        case "tls-sessions-host":
            return await TlsSessionHarness.HostAsync(rest);
        default:
            Console.Error.WriteLine("""
                usage: Verge.Benchmarks micro [BenchmarkDotNet args, e.g. --filter *]
                       Verge.Benchmarks api [--creates N] [--clients 32] [--list-pods 100000] [--watchers 10000]
                                            [--watch-rounds 5] [--watch-connections K]
                       Verge.Benchmarks scheduler [--nodes 5000] [--pods 50000] [--batch 500] [--sites 100]
                                                  [--seed 1] [--strategy least|most]
                       Verge.Benchmarks cluster [--nodes 1000] [--pods 10000] [--sites 10] [--workload deployments|pods]
                                                [--failover-nodes N] [--phases throughput,failover] [--flow-control on|off]
                                                [--renew-interval 10s] [--max-minutes 15]
                       Verge.Benchmarks rules [--messages 5000000] [--devices 1000] [--rate 10000]
                       Verge.Benchmarks queue [--messages 200000] [--size 200] [--producers 64] [--batch 1000]
                                              [--dir DIR] [--sqlite]
                       Verge.Benchmarks gateway-ack [--messages 20000] [--devices 1,8] [--inflight 1,16]
                       Verge.Benchmarks broker [--scenarios fanin-q0-64,fanout-q1-1024,one-q0-64,...] [--clients 100]
                                               [--seconds 5] [--latency-rate 10000] [--window 500] [--qos1-window 100]
                                               [--brokers verge,mosquitto] [--verge-env NAME=VALUE]
                                               [--verge-rule STATEMENT] [--verge-host verge-broker-host]
                       Verge.Benchmarks agent [--builds aot,jit] [--pods 10] [--latency-pods 50] [--idle-seconds 60]
                                              [--partition-seconds 60] [--verge verge.dll] [--agent verge-agent]
                                              [--link-down-seconds 60] [--agent-env NAME=VALUE] [--dump-dir DIR]
                                          [--max-minutes 30]
                       Verge.Benchmarks agent-layout --agent PROFILE/verge-agent --out src/Verge.AgentHost/agent.order
                                              [agent options]
                       Verge.Benchmarks tls-sessions [--nodes 4000] [--stateless]
                """);
            return 2;
    }
}
