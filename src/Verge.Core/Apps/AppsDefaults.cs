using Verge.Core.Core;
using Verge.Core.Quantities;

namespace Verge.Core.Apps;

/// <summary>Defaulting of apps/v1 kinds, as Kubernetes' SetDefaults_* functions do it.</summary>
public static class AppsDefaults
{
    public static void Deployment(Deployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var spec = deployment.Spec ??= new DeploymentSpec();
        spec.Replicas ??= 1;
        var strategy = spec.Strategy ??= new DeploymentStrategy();
        strategy.Type = string.IsNullOrEmpty(strategy.Type) ? "RollingUpdate" : strategy.Type;
        if (strategy.Type == "RollingUpdate")
        {
            var rolling = strategy.RollingUpdate ??= new RollingUpdateDeployment();
            rolling.MaxUnavailable ??= new IntOrString("25%");
            rolling.MaxSurge ??= new IntOrString("25%");
        }

        spec.RevisionHistoryLimit ??= 10;
        spec.ProgressDeadlineSeconds ??= 600;
        Template(spec.Template ??= new PodTemplateSpec());
    }

    public static void ReplicaSet(ReplicaSet replicaSet)
    {
        ArgumentNullException.ThrowIfNull(replicaSet);
        var spec = replicaSet.Spec ??= new ReplicaSetSpec();
        spec.Replicas ??= 1;
        Template(spec.Template ??= new PodTemplateSpec());
    }

    public static void DaemonSet(DaemonSet daemonSet)
    {
        ArgumentNullException.ThrowIfNull(daemonSet);
        var spec = daemonSet.Spec ??= new DaemonSetSpec();
        var strategy = spec.UpdateStrategy ??= new DaemonSetUpdateStrategy();
        strategy.Type = string.IsNullOrEmpty(strategy.Type) ? "RollingUpdate" : strategy.Type;
        if (strategy.Type == "RollingUpdate")
        {
            var rolling = strategy.RollingUpdate ??= new RollingUpdateDaemonSet();
            rolling.MaxUnavailable ??= new IntOrString(1);
            rolling.MaxSurge ??= new IntOrString(0);
        }

        spec.RevisionHistoryLimit ??= 10;
        Template(spec.Template ??= new PodTemplateSpec());
    }

    private static void Template(PodTemplateSpec template) => CoreDefaults.PodSpec(template.Spec ??= new PodSpec());
}
