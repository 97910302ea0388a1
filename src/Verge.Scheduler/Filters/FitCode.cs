namespace Verge.Scheduler.Filters;

/// <summary>A filter's verdict on one node, as kube-scheduler's status codes distinguish them.</summary>
internal enum FitCode : byte
{
    /// <summary>The pod fits.</summary>
    Fit,

    /// <summary>The pod does not fit, but evicting pods might change that (resources, ports, spread skew).</summary>
    Unschedulable,

    /// <summary>The pod does not fit and no eviction can change that (taints, affinity, cordon, missing label).</summary>
    Unresolvable,
}

/// <summary>kube-scheduler's reason strings, word for word.</summary>
internal static class Reasons
{
    public const string Unschedulable = "node(s) were unschedulable";
    public const string NodeAffinity = "node(s) didn't match Pod's node affinity/selector";

    /// <summary>A node the NodeAffinity PreFilter left out: one the pod's required node affinity does not name (v1.31+).</summary>
    public const string NodeAffinityPreFilter = "node(s) didn't satisfy plugin(s) [NodeAffinity]";
    public const string NodePorts = "node(s) didn't have free ports for the requested pod ports";
    public const string TooManyPods = "Too many pods";
    public const string SpreadConstraints = "node(s) didn't match pod topology spread constraints";
    public const string SpreadMissingLabel = SpreadConstraints + " (missing required label)";
    public const string Affinity = "node(s) didn't match pod affinity rules";
    public const string AntiAffinity = "node(s) didn't match pod anti-affinity rules";
    public const string ExistingAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules";
    public const string PreemptionNotHelpful = "Preemption is not helpful for scheduling";
    public const string NoVictims = "No preemption victims found for incoming pod";
    public const string NoNodes = "no nodes available to schedule pods";

    public static string RuntimeClass(string name) => $"node(s) didn't support runtime class \"{name}\"";

    public static string UntoleratedTaint(string key, string value) => $"node(s) had untolerated taint {{{key}: {value}}}";
}
