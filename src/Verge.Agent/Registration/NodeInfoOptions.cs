namespace Verge.Agent.Registration;

/// <summary>What the agent reports about its node besides what it measures.</summary>
internal sealed class NodeInfoOptions
{
    public string NodeName { get; set; } = "";

    /// <summary>Extra node labels (they win over the well-known ones the agent sets).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>();

    /// <summary>The site the node belongs to: the label <c>verge.dev/site</c>.</summary>
    public string? Site { get; set; }

    /// <summary>Extended resources by name and quantity, such as <c>verge.dev/camera=2</c>.</summary>
    public IReadOnlyDictionary<string, string> ExtendedResources { get; set; } = new Dictionary<string, string>();

    /// <summary>The runtime classes the node's drivers serve, published as the annotation <c>verge.dev/runtime-classes</c>.</summary>
    public IReadOnlyList<string> RuntimeClasses { get; set; } = [];

    /// <summary>The agent's data dir: ephemeral-storage is the size of its file system.</summary>
    public string DataDir { get; set; } = "";

    public int MaxPods { get; set; } = 110;

    /// <summary>The root the host files (/proc, /sys, /etc) are read under; tests point it at a fake tree.</summary>
    public string HostRoot { get; set; } = "/";

    public TimeProvider Time { get; set; } = TimeProvider.System;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(NodeName))
        {
            throw new ArgumentException("NodeName is required");
        }

        if (string.IsNullOrWhiteSpace(DataDir))
        {
            throw new ArgumentException("DataDir is required");
        }

        if (MaxPods < 0)
        {
            throw new ArgumentException($"MaxPods must not be negative (0 is a gateway-only node), got {MaxPods}");
        }
    }
}
