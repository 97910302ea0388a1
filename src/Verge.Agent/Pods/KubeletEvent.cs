using Verge.Core.Core;

namespace Verge.Agent.Pods;

/// <summary>An Event about a pod (or one of its containers) as the kubelet reports it: source kubelet on this node.</summary>
internal static class KubeletEvent
{
    public static Event About(
        string ns, string name, string uid, string? fieldPath, string type, string reason, string message, string nodeName, DateTimeOffset now) => new()
        {
            ApiVersion = "v1",
            Kind = "Event",
            Metadata = new Verge.Core.Meta.ObjectMeta { Name = $"{name}.{Guid.NewGuid().ToString("N")[..16]}", Namespace = ns },
            InvolvedObject = new ObjectReference { Kind = "Pod", ApiVersion = "v1", Namespace = ns, Name = name, Uid = uid, FieldPath = fieldPath },
            Reason = reason,
            Message = message,
            Type = type,
            Source = new EventSource { Component = "kubelet", Host = nodeName },
            ReportingComponent = "kubelet",
            ReportingInstance = nodeName,
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
        };
}
