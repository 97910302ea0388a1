using Verge.Core.Core;
using Verge.Core.Serialization;
using Verge.Core.Validation;

namespace Verge.Core.Tests.Validation;

public sealed class SecurityContextValidationTests
{
    private static List<string> Errors(Action<PodSpec> change)
    {
        var pod = new Pod
        {
            Metadata = new() { Name = "web", Namespace = "default" },
            Spec = new PodSpec { Containers = [new Container { Name = "app", Image = "nginx:1.27" }] },
        };
        change(pod.Spec);
        CoreDefaults.Pod(pod);
        return PodValidation.ValidatePod(pod, null).Select(e => e.ToString()).ToList();
    }

    private static List<string> ContainerErrors(SecurityContext context) => Errors(spec => spec.Containers[0].SecurityContext = context);

    [Fact]
    public void RestrictedProfile_AsHelmChartsWriteIt_IsValid()
    {
        const string manifest = """
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default"},
             "spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":1000,"fsGroup":2000,"fsGroupChangePolicy":"OnRootMismatch",
                                        "seccompProfile":{"type":"RuntimeDefault"},
                                        "sysctls":[{"name":"net.ipv4.ip_unprivileged_port_start","value":"0"}]},
                     "containers":[{"name":"app","image":"nginx:1.27",
                                    "securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},
                                                       "seccompProfile":{"type":"Localhost","localhostProfile":"profiles/app.json"}}}]}}
            """;
        var pod = System.Text.Json.JsonSerializer.Deserialize<Pod>(manifest, VergeJson.StrictOptions)!;
        CoreDefaults.Pod(pod);

        Assert.Empty(PodValidation.ValidatePod(pod, null));
        Assert.Equal("RuntimeDefault", pod.Spec.SecurityContext!.SeccompProfile!.Type);
        Assert.Equal("profiles/app.json", pod.Spec.Containers[0].SecurityContext!.SeccompProfile!.LocalhostProfile);
        Assert.Equal("0", Assert.Single(pod.Spec.SecurityContext.Sysctls!).Value);
    }

    [Fact]
    public void PodFieldsHelmChartsSet_DecodeStrictly_AndTheDeprecatedServiceAccountFillsTheName()
    {
        const string manifest = """
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default"},
             "spec":{"serviceAccount":"web","automountServiceAccountToken":false,"enableServiceLinks":false,"hostPID":true,"hostIPC":false,
                     "containers":[{"name":"app","image":"nginx:1.27"}]}}
            """;
        var pod = System.Text.Json.JsonSerializer.Deserialize<Pod>(manifest, VergeJson.StrictOptions)!;
        CoreDefaults.Pod(pod);

        Assert.Empty(PodValidation.ValidatePod(pod, null));
        Assert.Equal(("web", "web", false, false, true, false), (pod.Spec.ServiceAccountName, pod.Spec.ServiceAccount,
            pod.Spec.AutomountServiceAccountToken, pod.Spec.EnableServiceLinks, pod.Spec.HostPID, pod.Spec.HostIPC));

        var named = new Pod { Spec = new PodSpec { ServiceAccountName = "edge", Containers = [new Container { Name = "app", Image = "nginx" }] } };
        CoreDefaults.Pod(named);
        Assert.Equal("edge", named.Spec.ServiceAccount);
    }

    [Fact]
    public void NamespaceFields_DecodeStrictly_AndOnlyWhatVergeCannotGiveIsRefused()
    {
        const string manifest = """
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default"},
             "spec":{"shareProcessNamespace":false,"hostUsers":true,"hostname":"web","subdomain":"edge","setHostnameAsFQDN":true,
                     "containers":[{"name":"app","image":"nginx:1.27"}]}}
            """;
        var pod = System.Text.Json.JsonSerializer.Deserialize<Pod>(manifest, VergeJson.StrictOptions)!;
        CoreDefaults.Pod(pod);

        Assert.Empty(PodValidation.ValidatePod(pod, null));
        Assert.Equal((false, true, true), (pod.Spec.ShareProcessNamespace, pod.Spec.HostUsers, pod.Spec.SetHostnameAsFQDN));
        Assert.Equal(
            [
                "spec.shareProcessNamespace: Forbidden: not supported by Verge: its pods have no process to hold a shared process namespace",
                "spec.hostUsers: Forbidden: not supported by Verge: it runs no pods in user namespaces",
            ],
            Errors(spec => (spec.ShareProcessNamespace, spec.HostUsers) = (true, false)));
    }

    [Fact]
    public void SeccompProfile_OfAnUnknownType_IsUnsupported()
    {
        Assert.Equal(
            ["spec.containers[0].securityContext.seccompProfile.type: Unsupported value: \"Default\": supported values: \"Localhost\", \"RuntimeDefault\", \"Unconfined\""],
            ContainerErrors(new SecurityContext { SeccompProfile = new SeccompProfile { Type = "Default" } }));
        Assert.Equal(
            ["spec.securityContext.seccompProfile.type: Required value: type is required when seccompProfile is set"],
            Errors(spec => spec.SecurityContext = new PodSecurityContext { SeccompProfile = new SeccompProfile() }));
    }

    [Fact]
    public void LocalhostProfile_IsRequiredForLocalhost_AndADescendingPath()
    {
        Assert.Equal(
            ["spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost"],
            Errors(spec => spec.SecurityContext = new PodSecurityContext { SeccompProfile = new SeccompProfile { Type = "Localhost" } }));
        Assert.Equal(
            [
                "spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: \"/etc/x.json\": must be a relative path",
            ],
            ContainerErrors(new SecurityContext { SeccompProfile = new SeccompProfile { Type = "Localhost", LocalhostProfile = "/etc/x.json" } }));
        Assert.Equal(
            [
                "spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: \"a/../../x.json\": must not contain '..'",
            ],
            ContainerErrors(new SecurityContext { SeccompProfile = new SeccompProfile { Type = "Localhost", LocalhostProfile = "a/../../x.json" } }));
    }

    [Fact]
    public void LocalhostProfile_WithAnotherType_IsInvalid()
    {
        var error = Assert.Single(ContainerErrors(new SecurityContext
        {
            SeccompProfile = new SeccompProfile { Type = "RuntimeDefault", LocalhostProfile = "x.json" },
        }));

        Assert.StartsWith("spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: ", error, StringComparison.Ordinal);
        Assert.EndsWith(": can only be set when seccomp type is Localhost", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Privileged_WithoutPrivilegeEscalation_IsInvalid()
    {
        var error = Assert.Single(ContainerErrors(new SecurityContext { Privileged = true, AllowPrivilegeEscalation = false }));

        Assert.StartsWith("spec.containers[0].securityContext: Invalid value: ", error, StringComparison.Ordinal);
        Assert.EndsWith(": cannot set `allowPrivilegeEscalation` to false and `privileged` to true", error, StringComparison.Ordinal);
        Assert.Empty(ContainerErrors(new SecurityContext { Privileged = true, AllowPrivilegeEscalation = true }));
    }

    [Fact]
    public void SysAdmin_WithoutPrivilegeEscalation_IsInvalid_ButOnlyInTheSpellingKubernetesChecks()
    {
        var error = Assert.Single(ContainerErrors(new SecurityContext
        {
            AllowPrivilegeEscalation = false,
            Capabilities = new Capabilities { Add = ["NET_ADMIN", "CAP_SYS_ADMIN"] },
        }));

        Assert.EndsWith(": cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN", error, StringComparison.Ordinal);

        // Kubernetes compares the literal "CAP_SYS_ADMIN"; the runtime still grants SYS_ADMIN, and no_new_privs is set.
        Assert.Empty(ContainerErrors(new SecurityContext { AllowPrivilegeEscalation = false, Capabilities = new Capabilities { Add = ["SYS_ADMIN"] } }));
    }

    [Fact]
    public void Sysctls_AreCheckedByName_Duplicates_AndHostNetwork()
    {
        var errors = Errors(spec =>
        {
            spec.HostNetwork = true;
            spec.SecurityContext = new PodSecurityContext
            {
                Sysctls =
                [
                    new Sysctl { Name = "kernel.shm_rmid_forced", Value = "1" },
                    new Sysctl { Name = "kernel.shm_rmid_forced", Value = "0" },
                    new Sysctl { Name = "Kernel..x", Value = "1" },
                    new Sysctl { Name = "", Value = "1" },
                    new Sysctl { Name = "net/ipv4/tcp_syncookies", Value = "1" },
                ],
            };
        });

        Assert.Equal(
            [
                "spec.securityContext.sysctls[1].name: Duplicate value: \"kernel.shm_rmid_forced\"",
                "spec.securityContext.sysctls[2].name: Invalid value: \"Kernel..x\": must have at most 253 characters and match regex ([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?",
                "spec.securityContext.sysctls[3].name: Required value",
                "spec.securityContext.sysctls[4].name: Invalid value: \"net/ipv4/tcp_syncookies\": may not be specified when 'hostNetwork' is true",
            ],
            errors);
    }

    [Fact]
    public void FsGroupChangePolicy_AndIds_AreChecked()
    {
        Assert.Equal(
            [
                "spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive",
                "spec.securityContext.fsGroupChangePolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnRootMismatch\"",
            ],
            Errors(spec => spec.SecurityContext = new PodSecurityContext { RunAsUser = -1, FsGroupChangePolicy = "Sometimes" }));
    }
}
