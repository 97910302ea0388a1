using Verge.Agent.Drivers;
using Verge.Agent.Pods;
using Verge.Core.Core;

namespace Verge.Agent.Tests.Pods;

public sealed class ContainerSecurityTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("verge-seccomp-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static Pod NewPod(PodSecurityContext? pod, SecurityContext? container) => new()
    {
        Metadata = new() { Name = "web", Namespace = "default", Uid = "u1" },
        Spec = new PodSpec { SecurityContext = pod, Containers = [new Container { Name = "app", Image = "x", SecurityContext = container }] },
    };

    private TaskSecurity Resolve(PodSecurityContext? pod, SecurityContext? container)
    {
        var p = NewPod(pod, container);
        return ContainerSecurity.Resolve(p, p.Spec.Containers[0], _root);
    }

    [Fact]
    public void ContainerSettings_OverrideThePods()
    {
        var security = Resolve(
            new PodSecurityContext { RunAsNonRoot = true, SeccompProfile = new SeccompProfile { Type = "RuntimeDefault" } },
            new SecurityContext
            {
                RunAsNonRoot = false,
                SeccompProfile = new SeccompProfile { Type = "Unconfined" },
                AllowPrivilegeEscalation = false,
                Capabilities = new Capabilities { Add = ["NET_BIND_SERVICE"], Drop = ["ALL"] },
            });

        Assert.False(security.RunAsNonRoot);
        Assert.Equal(SeccompMode.Unconfined, security.Seccomp);
        Assert.True(security.NoNewPrivileges);
        Assert.Equal(["NET_BIND_SERVICE"], security.AddCapabilities);
        Assert.Equal(["ALL"], security.DropCapabilities);
    }

    [Fact]
    public void PodSettings_ApplyWhenTheContainerHasNone()
    {
        var security = Resolve(new PodSecurityContext { RunAsNonRoot = true, SeccompProfile = new SeccompProfile { Type = "RuntimeDefault" } }, null);

        Assert.True(security.RunAsNonRoot);
        Assert.Equal(SeccompMode.RuntimeDefault, security.Seccomp);
        Assert.False(security.NoNewPrivileges);
    }

    [Fact]
    public void LocalhostProfile_IsReadFromTheSeccompDirectory()
    {
        Directory.CreateDirectory(Path.Combine(_root, "profiles"));
        File.WriteAllText(Path.Combine(_root, "profiles/app.json"), """{"defaultAction":"SCMP_ACT_ALLOW"}""");

        var security = Resolve(null, new SecurityContext { SeccompProfile = new SeccompProfile { Type = "Localhost", LocalhostProfile = "profiles/app.json" } });

        Assert.Equal(SeccompMode.Localhost, security.Seccomp);
        Assert.Equal("profiles/app.json", security.SeccompProfileName);
        Assert.Contains("SCMP_ACT_ALLOW", security.SeccompProfileJson, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing.json", "not found")]
    [InlineData("../outside.json", "must be a path inside")]
    [InlineData("/etc/passwd", "must be a path inside")]
    public void LocalhostProfile_ThatIsMissingOrOutside_IsAConfigError(string profile, string message)
    {
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(_root)!, "outside.json"), "{}");
        try
        {
            var error = Assert.Throws<ContainerConfigException>(() =>
                Resolve(new PodSecurityContext { SeccompProfile = new SeccompProfile { Type = "Localhost", LocalhostProfile = profile } }, null));

            Assert.Equal("CreateContainerConfigError", error.Reason);
            Assert.Contains(message, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(Path.Combine(Path.GetDirectoryName(_root)!, "outside.json"));
        }
    }

    [Fact]
    public void SafeSysctls_PassInDottedForm_OthersAreForbidden()
    {
        var allowed = Resolve(new PodSecurityContext { Sysctls = [new Sysctl { Name = "net/ipv4/tcp_syncookies", Value = "1" }] }, null);
        var error = Assert.Throws<ContainerConfigException>(() =>
            Resolve(new PodSecurityContext { Sysctls = [new Sysctl { Name = "kernel.msgmax", Value = "65536" }] }, null));

        Assert.Equal([new KeyValuePair<string, string>("net.ipv4.tcp_syncookies", "1")], allowed.Sysctls);
        Assert.Equal(("SysctlForbidden", "forbidden sysctl: \"kernel.msgmax\" not allowlisted"), (error.Reason, error.Message));
    }
}
