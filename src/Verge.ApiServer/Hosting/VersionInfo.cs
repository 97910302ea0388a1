namespace Verge.ApiServer.Hosting;

/// <summary>The version Verge reports: the Kubernetes API level it serves, and its own.</summary>
public static class VersionInfo
{
    /// <summary>Verge's own version.</summary>
    public const string Verge = "0.1.0";

    /// <summary>What <c>/version</c> reports as gitVersion: the Kubernetes API level, tagged with Verge's version.</summary>
    public const string GitVersion = "v1.32.0-verge." + Verge;
}
