using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Verge.Agent.Platform;

namespace Verge.Agent.Networking;

/// <summary>
/// Pod networking through the standard CNI plugins (spec 1.0.0): each pod gets a named network namespace, and the
/// chain loopback → bridge (host-local IPAM) → portmap gives it loopback, an address on the node bridge with NAT to
/// the outside, and its hostPorts. The final ADD result is kept per pod, so a restarted agent finds the pod's
/// network again and DEL gets the same prevResult and config that ADD had. See docs/runtime.md, "Pod networking".
/// </summary>
internal sealed partial class CniPodNetwork : IPodNetwork
{
    private const string CniVersion = "1.0.0";
    private const string NetnsDir = "/var/run/netns";
    private static readonly string[] RequiredPlugins = ["loopback", "bridge", "host-local", "portmap"];

    private readonly CniOptions _options;
    private readonly ILogger<CniPodNetwork> _logger;
    private readonly string _podsDir;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public CniPodNetwork(CniOptions options, ILogger<CniPodNetwork> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger;
        _podsDir = Path.Combine(options.StateDir, "pods");
    }

    public Task<(bool Available, string Detail)> CheckAsync(CancellationToken ct)
    {
        if (!HostEnvironment.IsRoot())
        {
            return Task.FromResult((false, "pod networking needs the agent to run as root"));
        }

        var missing = RequiredPlugins.Where(plugin => !File.Exists(Path.Combine(_options.PluginDir, plugin))).ToList();
        if (missing.Count > 0)
        {
            return Task.FromResult((false, $"CNI plugins missing from {_options.PluginDir}: {string.Join(", ", missing)} (install containernetworking-plugins)"));
        }

        foreach (var (tool, package) in new[] { ("ip", "iproute2"), ("iptables", "iptables") })
        {
            if (HostEnvironment.FindTool(tool) is null)
            {
                return Task.FromResult((false, $"'{tool}' is missing (install {package})"));
            }
        }

        return Task.FromResult((true, $"CNI bridge {_options.BridgeName} on {_options.Subnet}"));
    }

    public async Task<PodNetworkStatus> SetUpAsync(PodNetworkRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ValidateUid(request.PodUid);
        foreach (var port in request.HostPorts)
        {
            if (port.HostPort is < 1 or > 65535 || port.ContainerPort is < 1 or > 65535)
            {
                throw new ArgumentException($"port mapping {port.HostPort}->{port.ContainerPort} is out of range 1-65535");
            }

            if (port.Protocol?.ToUpperInvariant() is not ("TCP" or "UDP" or "SCTP"))
            {
                throw new ArgumentException($"port mapping protocol must be TCP, UDP or SCTP, got '{port.Protocol}'");
            }
        }

        var gate = _locks.GetOrAdd(request.PodUid, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            var record = LoadRecord(request.PodUid);
            var netnsName = _options.NetnsPrefix + request.PodUid;
            if (record is { PodIp: not null } && File.Exists(record.NetnsPath))
            {
                LogReattached(request.PodUid, record.PodIp);
                return new PodNetworkStatus(record.NetnsPath, record.PodIp);
            }

            // A half-done set-up (agent crash, reboot that emptied /var/run/netns): undo it, then start over.
            if (record is not null || File.Exists(Path.Combine(NetnsDir, netnsName)))
            {
                await TearDownCoreAsync(request.PodUid);
            }

            return await AddAsync(request, netnsName, ct);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// <paramref name="ct"/> cancels the wait for the pod's gate only: once begun, a tear-down runs to its end (each
    /// command within <see cref="CniOptions.CommandTimeout"/>), since one stopped halfway leaves a namespace that
    /// no container uses and nothing may ever remove.
    /// </summary>
    public async Task TearDownAsync(string podUid, CancellationToken ct)
    {
        ValidateUid(podUid);
        var gate = _locks.GetOrAdd(podUid, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            await TearDownCoreAsync(podUid);
        }
        finally
        {
            gate.Release();

            // The pod is gone: its gate goes too, or the map would grow with every pod the node ever ran. A caller
            // already waiting on this gate still gets it; a later one makes a new gate.
            _locks.TryRemove(new KeyValuePair<string, SemaphoreSlim>(podUid, gate));
        }
    }

    /// <summary>How many pods have a set-up gate (tests: torn-down pods leave none).</summary>
    internal int TrackedPods => _locks.Count;

    /// <summary>
    /// Creates the pod's namespace and runs ADD in it. The namespace is this method's until it returns: on every way
    /// out but success (ip cancelled or timing out, the record not saved, a plugin failing or cancelled, DEL failing
    /// afterwards) it deletes the namespace before it throws, so no namespace outlives a failed set-up.
    /// </summary>
    private async Task<PodNetworkStatus> AddAsync(PodNetworkRequest request, string netnsName, CancellationToken ct)
    {
        var netnsPath = Path.Combine(NetnsDir, netnsName);
        CommandResult add;
        try
        {
            add = await CommandRunner.RunAsync("ip", ["netns", "add", netnsName], _options.CommandTimeout, ct);
        }
        catch (OperationCanceledException)
        {
            // Stopped while ip ran: it may have made the namespace first.
            await UndoAddAsync(request.PodUid);
            throw;
        }

        if (add.TimedOut)
        {
            await UndoAddAsync(request.PodUid);
            throw new CniException($"cannot create network namespace {netnsName}: ip did not finish within {_options.CommandTimeout}");
        }

        if (add.ExitCode != 0)
        {
            // ip removes what it made when it fails: a namespace of that name now is not this call's to delete.
            throw new CniException($"cannot create network namespace {netnsName}: {add.Diagnostic}");
        }

        try
        {
            var record = new PodNetworkRecord
            {
                PodUid = request.PodUid,
                Namespace = request.Namespace,
                Name = request.Name,
                NetnsPath = netnsPath,
                ConfigList = BuildConfigList().ToJsonString(),
                HostPorts = [.. request.HostPorts],
            };

            // Recorded before ADD, so a crash halfway leaves enough behind for TearDown to DEL what was done.
            SaveRecord(record);
            var result = await RunChainAsync("ADD", record, ct);
            var ip = FindPodIp(result) ?? throw new CniException("the CNI result holds no IPv4 address for the pod");
            record = record with { Result = result.ToJsonString(), PodIp = ip };
            SaveRecord(record);
            LogSetUp(request.PodUid, ip, netnsName);
            return new PodNetworkStatus(netnsPath, ip);
        }
        catch (Exception e)
        {
            LogAddFailed(request.PodUid, e.Message);
            await UndoAddAsync(request.PodUid);
            throw;
        }
    }

    /// <summary>
    /// Undoes a set-up that failed: DEL for what ADD may have done, and the namespace goes even if DEL fails. A failed
    /// DEL keeps the record, so a later tear-down releases the address.
    /// </summary>
    private async Task UndoAddAsync(string podUid)
    {
        var netnsName = _options.NetnsPrefix + podUid;
        try
        {
            await TearDownCoreAsync(podUid);
        }
        catch (Exception e) when (e is CniException or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            LogTearDownFailed(podUid, e.Message);
        }

        if (File.Exists(Path.Combine(NetnsDir, netnsName)))
        {
            LogNamespaceLeft(podUid, netnsName);
        }
    }

    /// <summary>Deletes the named namespace if it is there; throws if it stays. Not cancellable, as a tear-down.</summary>
    private async Task DeleteNamespaceAsync(string netnsName)
    {
        var netnsPath = Path.Combine(NetnsDir, netnsName);
        if (!File.Exists(netnsPath))
        {
            return;
        }

        var delete = await CommandRunner.RunAsync("ip", ["netns", "delete", netnsName], _options.CommandTimeout, CancellationToken.None);
        if (delete.ExitCode != 0 && File.Exists(netnsPath))
        {
            throw new CniException($"cannot delete network namespace {netnsName}: {delete.Diagnostic}");
        }
    }

    /// <summary>
    /// DEL (if the pod has a record), then the namespace goes, even when DEL failed: nothing runs in it any more,
    /// and the record, kept on failure, lets a later tear-down DEL again through a stand-in namespace. Not
    /// cancellable (see <see cref="TearDownAsync"/>).
    /// </summary>
    private async Task TearDownCoreAsync(string podUid)
    {
        var netnsName = _options.NetnsPrefix + podUid;
        var netnsPath = Path.Combine(NetnsDir, netnsName);
        var record = LoadRecord(podUid);
        ExceptionDispatchInfo? delFailed = null;
        if (record is not null)
        {
            try
            {
                // The spec asks for DEL even when the namespace is gone. The bridge plugin then releases the address
                // but finds no eth0 to learn which masquerade rules to remove, so a stand-in namespace with an
                // eth0 holding the recorded addresses lets it clean up everything.
                var netns = File.Exists(record.NetnsPath) ? record.NetnsPath
                    : await CreateStandInAsync(netnsName, record, CancellationToken.None) ? netnsPath : string.Empty;
                await RunChainAsync("DEL", record with { NetnsPath = netns }, CancellationToken.None);
            }
            catch (Exception e) when (e is CniException or InvalidOperationException or JsonException)
            {
                delFailed = ExceptionDispatchInfo.Capture(e);
            }
        }

        await DeleteNamespaceAsync(netnsName);
        delFailed?.Throw();
        if (record is not null)
        {
            File.Delete(RecordPath(podUid));
            LogTornDown(podUid);
        }
    }

    private async Task<bool> CreateStandInAsync(string netnsName, PodNetworkRecord record, CancellationToken ct)
    {
        if (record.Result is null || record.NetnsPath != Path.Combine(NetnsDir, netnsName))
        {
            return false;
        }

        var addresses = (JsonNode.Parse(record.Result)?["ips"]?.AsArray() ?? [])
            .Select(ip => ip?["address"]?.GetValue<string>())
            .OfType<string>()
            .Where(address => !address.Contains(':', StringComparison.Ordinal))
            .ToList();
        string[][] steps =
        [
            ["netns", "add", netnsName],
            // A veth pair rather than a dummy: veth is there wherever the bridge plugin works, dummy may not be.
            ["-n", netnsName, "link", "add", "eth0", "type", "veth", "peer", "name", "standin0"],
            .. addresses.Select(address => new[] { "-n", netnsName, "addr", "add", address, "dev", "eth0" }),
        ];
        foreach (var step in steps)
        {
            var result = await CommandRunner.RunAsync("ip", step, _options.CommandTimeout, ct);
            if (result.ExitCode != 0)
            {
                LogStandInFailed(record.PodUid, result.Diagnostic);
                return File.Exists(record.NetnsPath);
            }
        }

        return true;
    }

    /// <summary>
    /// Runs the plugin chain as the spec's network configuration list: ADD in order, each plugin getting the
    /// previous one's result as prevResult; DEL in reverse, each getting the cached ADD result.
    /// </summary>
    private async Task<JsonObject> RunChainAsync(string command, PodNetworkRecord record, CancellationToken ct)
    {
        var list = JsonNode.Parse(record.ConfigList)!.AsObject();
        var plugins = list["plugins"]!.AsArray().Select(plugin => plugin!.AsObject()).ToList();
        JsonObject? previous = record.Result is null ? null : JsonNode.Parse(record.Result)!.AsObject();
        if (command == "DEL")
        {
            plugins.Reverse();
        }

        foreach (var plugin in plugins)
        {
            var config = (JsonObject)plugin.DeepClone();
            config["cniVersion"] = list["cniVersion"]!.GetValue<string>();
            config["name"] = list["name"]!.GetValue<string>();
            if (previous is not null)
            {
                config["prevResult"] = previous.DeepClone();
            }

            if (config["capabilities"]?["portMappings"]?.GetValue<bool>() == true && record.HostPorts.Count > 0)
            {
                config["runtimeConfig"] = new JsonObject
                {
                    ["portMappings"] = new JsonArray([.. record.HostPorts.Select(port => (JsonNode)new JsonObject
                    {
                        ["hostPort"] = port.HostPort,
                        ["containerPort"] = port.ContainerPort,
                        ["protocol"] = port.Protocol.ToLowerInvariant(),
                    })]),
                };
            }

            var type = config["type"]!.GetValue<string>();
            var output = await InvokePluginAsync(type, command, record, config.ToJsonString(), ct);
            if (command == "ADD")
            {
                previous = output ?? throw new CniException($"CNI plugin {type} returned no result for ADD");
            }
        }

        return previous ?? [];
    }

    private async Task<JsonObject?> InvokePluginAsync(string type, string command, PodNetworkRecord record, string config, CancellationToken ct)
    {
        var plugin = Path.Combine(_options.PluginDir, type);
        if (!File.Exists(plugin))
        {
            throw new CniException($"CNI plugin '{type}' not found in {_options.PluginDir} (install containernetworking-plugins)");
        }

        var environment = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = record.PodUid,
            ["CNI_NETNS"] = record.NetnsPath,
            ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = _options.PluginDir,
            ["CNI_ARGS"] = $"IgnoreUnknown=1;K8S_POD_NAMESPACE={record.Namespace};K8S_POD_NAME={record.Name};K8S_POD_INFRA_CONTAINER_ID={record.PodUid};K8S_POD_UID={record.PodUid}",
        };
        var result = await CommandRunner.RunAsync(plugin, [], _options.CommandTimeout, ct, stdin: config, environment: environment);
        if (result.TimedOut)
        {
            throw new CniException($"CNI plugin {type} {command} did not finish within {_options.CommandTimeout}");
        }

        JsonObject? output = null;
        try
        {
            output = string.IsNullOrWhiteSpace(result.Stdout) ? null : JsonNode.Parse(result.Stdout) as JsonObject;
        }
        catch (JsonException)
        {
            // Reported below with the raw text.
        }

        if (result.ExitCode != 0)
        {
            if (output?["code"] is { } code && output["msg"] is { } msg)
            {
                var details = output["details"]?.GetValue<string>() is { Length: > 0 } text ? $" ({text})" : string.Empty;
                throw new CniException($"CNI plugin {type} {command} failed: {msg.GetValue<string>()}{details}", code.GetValue<int>());
            }

            throw new CniException($"CNI plugin {type} {command} failed with exit code {result.ExitCode}: {result.Diagnostic}");
        }

        if (command == "ADD" && output is null)
        {
            throw new CniException($"CNI plugin {type} ADD printed no JSON result: {result.Stdout.Trim()}");
        }

        return output;
    }

    private JsonObject BuildConfigList() => new()
    {
        ["cniVersion"] = CniVersion,
        ["name"] = _options.NetworkName,
        ["plugins"] = new JsonArray(
            new JsonObject { ["type"] = "loopback" },
            new JsonObject
            {
                ["type"] = "bridge",
                ["bridge"] = _options.BridgeName,
                ["isGateway"] = true,
                ["ipMasq"] = true,
                ["hairpinMode"] = true,
                ["ipam"] = new JsonObject
                {
                    ["type"] = "host-local",
                    ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = _options.Subnet })),
                    ["routes"] = new JsonArray(new JsonObject { ["dst"] = "0.0.0.0/0" }),
                    ["dataDir"] = Path.Combine(_options.StateDir, "ipam"),
                },
            },
            new JsonObject
            {
                ["type"] = "portmap",
                ["capabilities"] = new JsonObject { ["portMappings"] = true },
                ["snat"] = true,
            }),
    };

    /// <summary>The IPv4 address on the pod's eth0 (the interface inside the sandbox), without its prefix length.</summary>
    internal static string? FindPodIp(JsonObject result)
    {
        var interfaces = result["interfaces"]?.AsArray();
        foreach (var ip in result["ips"]?.AsArray() ?? [])
        {
            var address = ip?["address"]?.GetValue<string>();
            if (address is null || address.Contains(':', StringComparison.Ordinal))
            {
                continue;
            }

            if (ip!["interface"]?.GetValue<int>() is { } index && interfaces is not null && index < interfaces.Count &&
                interfaces[index]?["sandbox"] is null)
            {
                continue;
            }

            return address.Split('/')[0];
        }

        return null;
    }

    public IReadOnlyList<string> ListPods() =>
        Directory.Exists(_podsDir)
            ? [.. Directory.EnumerateFiles(_podsDir, "*.json").Select(Path.GetFileNameWithoutExtension).OfType<string>()]
            : [];

    private PodNetworkRecord? LoadRecord(string podUid)
    {
        var path = RecordPath(podUid);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), CniJsonContext.Default.PodNetworkRecord);
        }
        catch (JsonException e)
        {
            throw new CniException($"the network record of pod {podUid} ({path}) is corrupt: {e.Message}");
        }
    }

    private void SaveRecord(PodNetworkRecord record)
    {
        Directory.CreateDirectory(_podsDir);
        var path = RecordPath(record.PodUid);
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(record, CniJsonContext.Default.PodNetworkRecord));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private string RecordPath(string podUid) => Path.Combine(_podsDir, podUid + ".json");

    private static void ValidateUid(string podUid)
    {
        if (string.IsNullOrEmpty(podUid) || !PodUid().IsMatch(podUid))
        {
            throw new ArgumentException($"pod UID '{podUid}' may hold only letters, digits, '-', '_' and '.' (at most 128)");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex PodUid();

    [LoggerMessage(EventId = 5821, Level = LogLevel.Information, Message = "Pod {PodUid} network set up: {PodIp} in {Netns}")]
    private partial void LogSetUp(string podUid, string podIp, string netns);

    [LoggerMessage(EventId = 5822, Level = LogLevel.Information, Message = "Pod {PodUid} already has its network ({PodIp})")]
    private partial void LogReattached(string podUid, string podIp);

    [LoggerMessage(EventId = 5823, Level = LogLevel.Warning, Message = "Pod {PodUid} network set-up failed, undoing it: {Reason}")]
    private partial void LogAddFailed(string podUid, string reason);

    [LoggerMessage(EventId = 5824, Level = LogLevel.Information, Message = "Pod {PodUid} network torn down")]
    private partial void LogTornDown(string podUid);

    [LoggerMessage(EventId = 5826, Level = LogLevel.Warning, Message = "Pod {PodUid}: cannot build a stand-in namespace for DEL, masquerade rules may remain: {Reason}")]
    private partial void LogStandInFailed(string podUid, string reason);

    [LoggerMessage(EventId = 5825, Level = LogLevel.Warning, Message = "Pod {PodUid} network tear-down failed: {Reason}")]
    private partial void LogTearDownFailed(string podUid, string reason);

    [LoggerMessage(EventId = 5827, Level = LogLevel.Error, Message = "Pod {PodUid}: network namespace {Netns} is left after a failed set-up and could not be deleted")]
    private partial void LogNamespaceLeft(string podUid, string netns);
}

/// <summary>A CNI plugin or the namespace handling around it failed. Code is the CNI error code when a plugin gave one.</summary>
public sealed class CniException : Exception
{
    public CniException(string message, int? code = null)
        : base(message) => Code = code;

    public CniException()
        : this("CNI operation failed")
    {
    }

    public CniException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public CniException(string message)
        : this(message, (int?)null)
    {
    }

    public int? Code { get; }
}

/// <summary>What the node knows about one pod's network, persisted under the state dir.</summary>
internal sealed record PodNetworkRecord
{
    public required string PodUid { get; init; }

    public required string Namespace { get; init; }

    public required string Name { get; init; }

    public required string NetnsPath { get; init; }

    /// <summary>The configuration list ADD ran with; DEL uses it too, even if the options changed since.</summary>
    public required string ConfigList { get; init; }

    public required IReadOnlyList<PortMapping> HostPorts { get; init; }

    /// <summary>The chain's final ADD result (null until ADD finished).</summary>
    public string? Result { get; init; }

    public string? PodIp { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PodNetworkRecord))]
internal sealed partial class CniJsonContext : JsonSerializerContext;
