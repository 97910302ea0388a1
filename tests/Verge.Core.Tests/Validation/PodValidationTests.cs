using Verge.Core.Core;
using Verge.Core.Quantities;
using Verge.Core.Validation;

namespace Verge.Core.Tests.Validation;

public sealed class PodValidationTests
{
    private static Pod NewPod(Action<PodSpec>? change = null)
    {
        var pod = new Pod
        {
            Metadata = new() { Name = "web", Namespace = "default" },
            Spec = new PodSpec { Containers = [new Container { Name = "app", Image = "nginx:1.27" }] },
        };
        change?.Invoke(pod.Spec);
        CoreDefaults.Pod(pod);
        return pod;
    }

    private static List<string> Errors(Pod pod) => PodValidation.ValidatePod(pod, null).Select(e => e.ToString()).ToList();

    private static List<string> StatusErrors(PodStatus status, PodStatus? old = null)
    {
        var pod = NewPod();
        pod.Status = status;
        var stored = NewPod();
        stored.Status = old;
        return PodValidation.ValidatePodStatusUpdate(pod, stored).Select(e => e.ToString()).ToList();
    }

    [Fact]
    public void ValidatePodStatusUpdate_OfWhatAnAgentReports_ReturnsNoErrors()
    {
        Assert.Empty(StatusErrors(new PodStatus
        {
            Phase = "Running",
            Conditions = [new PodCondition { Type = "Ready", Status = "True" }, new PodCondition { Type = "example.com/warm", Status = "False" }],
            PodIP = "10.88.0.7",
            PodIPs = [new PodIP { Ip = "10.88.0.7" }, new PodIP { Ip = "fd00::7" }],
            HostIP = "192.168.1.20",
            HostIPs = [new HostIP { Ip = "192.168.1.20" }],
            NominatedNodeName = "edge-1",
        }));
    }

    [Fact]
    public void ValidatePodStatusUpdate_ChecksConditionTypesIpsAndANewNominatedNode()
    {
        var errors = StatusErrors(new PodStatus
        {
            Conditions = [new PodCondition { Type = "", Status = "True" }, new PodCondition { Type = "not a name", Status = "True" }],
            PodIP = "10.0.0.1",
            PodIPs = [new PodIP { Ip = "10.0.0.2" }, new PodIP { Ip = "10" }, new PodIP { Ip = "10.0.0.2" }],
            NominatedNodeName = "Edge_1",
        });

        Assert.Equal(
        [
            "status.conditions[0].type: Invalid value: \"\": name part must be non-empty",
            "status.conditions[0].type: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            "status.conditions[1].type: Invalid value: \"not a name\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            "status.nominatedNodeName: Invalid value: \"Edge_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            "status.podIPs[0].ip: Invalid value: \"10.0.0.2\": must be equal to status.podIP",
            "status.podIPs[1].ip: Invalid value: \"10\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            "status.podIPs[2].ip: Duplicate value: \"10.0.0.2\"",
        ], errors);
    }

    [Fact]
    public void ValidatePodStatusUpdate_LeavesANominatedNodeThatDidNotChange()
    {
        var status = new PodStatus { NominatedNodeName = "Legacy_Name" };
        Assert.Empty(StatusErrors(status, new PodStatus { NominatedNodeName = "Legacy_Name" }));
    }

    [Fact]
    public void ValidatePod_WhenDefaultedPodIsValid_ReturnsNoErrors()
    {
        Assert.Empty(Errors(NewPod()));
    }

    [Fact]
    public void ValidatePod_WhenNoContainers_RequiresThem()
    {
        Assert.Equal(["spec.containers: Required value"], Errors(NewPod(s => s.Containers = [])));
    }

    [Fact]
    public void ValidatePod_WhenContainerNamesRepeat_ReportsDuplicate()
    {
        var errors = Errors(NewPod(s => s.Containers.Add(new Container { Name = "app", Image = "x" })));
        Assert.Equal(["spec.containers[1].name: Duplicate value: \"app\""], errors);
    }

    [Fact]
    public void ValidatePod_WhenImageMissing_RequiresIt()
    {
        Assert.Equal(["spec.containers[0].image: Required value"], Errors(NewPod(s => s.Containers[0].Image = null)));
    }

    [Theory]
    [InlineData(0, "spec.containers[0].ports[0].containerPort: Required value")]
    [InlineData(70000, "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive")]
    public void ValidatePod_ChecksPortRange(int port, string expected)
    {
        Assert.Equal([expected], Errors(NewPod(s => s.Containers[0].Ports = [new ContainerPort { Port = port }])));
    }

    [Fact]
    public void ValidatePod_WhenRequestExceedsLimit_SaysSo()
    {
        var errors = Errors(NewPod(s => s.Containers[0].Resources = new ResourceRequirements
        {
            Limits = new() { ["memory"] = Quantity.Parse("128Mi") },
            Requests = new() { ["memory"] = Quantity.Parse("256Mi") },
        }));
        Assert.Equal(["spec.containers[0].resources.requests[memory]: Invalid value: \"256Mi\": must be less than or equal to memory limit of 128Mi"], errors);
    }

    [Fact]
    public void ValidatePod_WhenQuantityIsNegativeOrResourceUnknown_ReportsBoth()
    {
        var errors = Errors(NewPod(s => s.Containers[0].Resources = new ResourceRequirements
        {
            Limits = new() { ["cpu"] = Quantity.Parse("-1"), ["gpu"] = Quantity.Parse("1") },
        }));
        Assert.Contains("spec.containers[0].resources.limits[cpu]: Invalid value: \"-1\": must be greater than or equal to 0", errors);
        Assert.Contains("spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource for containers", errors);
    }

    [Fact]
    public void ValidatePod_WhenProbeHasNoHandler_RequiresOne()
    {
        Assert.Equal(["spec.containers[0].livenessProbe: Required value: must specify a handler type"], Errors(NewPod(s => s.Containers[0].LivenessProbe = new Probe())));
    }

    [Fact]
    public void ValidatePod_WhenProbeHasTwoHandlers_ForbidsTheSecond()
    {
        var errors = Errors(NewPod(s => s.Containers[0].ReadinessProbe = new Probe
        {
            Exec = new ExecAction { Command = ["true"] },
            TcpSocket = new TcpSocketAction { Port = 80 },
        }));
        Assert.Equal(["spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"], errors);
    }

    [Fact]
    public void ValidatePod_LifecycleHooks_NeedOneHandlerAndASleepWithinTheGracePeriod()
    {
        Assert.Empty(Errors(NewPod(s => s.Containers[0].Lifecycle = new Lifecycle
        {
            PostStart = new LifecycleHandler { HttpGet = new HttpGetAction { Path = "/warm", Port = 8080 } },
            PreStop = new LifecycleHandler { Sleep = new SleepAction { Seconds = 5 } },
        })));

        var errors = Errors(NewPod(s =>
        {
            s.TerminationGracePeriodSeconds = 10;
            s.Containers[0].Lifecycle = new Lifecycle
            {
                PostStart = new LifecycleHandler(),
                PreStop = new LifecycleHandler { Exec = new ExecAction { Command = ["drain"] }, Sleep = new SleepAction { Seconds = 1 } },
            };
            s.Containers.Add(new Container
            {
                Name = "second",
                Image = "nginx:1.27",
                Lifecycle = new Lifecycle { PreStop = new LifecycleHandler { Sleep = new SleepAction { Seconds = 11 } } },
            });
            s.InitContainers = [new Container { Name = "init", Image = "busybox", Lifecycle = new Lifecycle { PreStop = new LifecycleHandler { Sleep = new SleepAction { Seconds = 1 } } } }];
        }));

        Assert.Equal(
        [
            "spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers without restartPolicy=Always",
            "spec.containers[0].lifecycle.postStart: Required value: must specify a handler type",
            "spec.containers[0].lifecycle.preStop.sleep: Forbidden: may not specify more than 1 handler type",
            "spec.containers[1].lifecycle.preStop.sleep: Invalid value: 11: must be greater than 0 and less than terminationGracePeriodSeconds (10). Enable AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep.",
        ], errors);
    }

    [Fact]
    public void ValidatePod_Sidecars_AloneMayHaveProbesAndHooks_AndRestartPolicyIsForInitContainersOnly()
    {
        var probe = new Probe { Exec = new ExecAction { Command = ["true"] } };
        Assert.Empty(Errors(NewPod(s => s.InitContainers =
        [
            new Container
            {
                Name = "proxy", Image = "envoy", RestartPolicy = "Always", StartupProbe = probe, ReadinessProbe = probe, LivenessProbe = probe,
                Lifecycle = new Lifecycle { PreStop = new LifecycleHandler { Sleep = new SleepAction { Seconds = 1 } } },
            },
        ])));

        var errors = Errors(NewPod(s =>
        {
            s.InitContainers =
            [
                new Container { Name = "setup", Image = "busybox", RestartPolicy = "OnFailure" },
                new Container { Name = "check", Image = "busybox", ReadinessProbe = probe, StartupProbe = probe },
            ];
            s.Containers[0].RestartPolicy = "Always";
        }));

        Assert.Equal(
        [
            "spec.initContainers[0].restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
            "spec.initContainers[1].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
            "spec.initContainers[1].startupProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
            "spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers",
        ], errors);
    }

    [Fact]
    public void ValidatePod_WhenProbePeriodIsZeroAfterDefaulting_RequiresAtLeastOne()
    {
        var pod = NewPod(s => s.Containers[0].ReadinessProbe = new Probe { Exec = new ExecAction { Command = ["true"] } });
        pod.Spec.Containers[0].ReadinessProbe!.PeriodSeconds = 0;
        Assert.Equal(["spec.containers[0].readinessProbe.periodSeconds: Invalid value: 0: must be greater than or equal to 1"], Errors(pod));
    }

    [Fact]
    public void ValidatePod_WhenRestartPolicyIsUnknown_ListsSupportedValues()
    {
        Assert.Equal(
            ["spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""],
            Errors(NewPod(s => s.RestartPolicy = "Sometimes")));
    }

    [Fact]
    public void ValidatePod_Volumes_UniqueNamesAndExactlyOneSource()
    {
        var errors = Errors(NewPod(s => s.Volumes =
        [
            new Volume { Name = "a", EmptyDir = new() },
            new Volume { Name = "a", EmptyDir = new() },
            new Volume { Name = "b" },
            new Volume { Name = "c", EmptyDir = new(), HostPath = new() { Path = "/x" } },
        ]));
        Assert.Equal(
        [
            "spec.volumes[1].name: Duplicate value: \"a\"",
            "spec.volumes[2]: Required value: must specify a volume type",
            "spec.volumes[3].hostPath: Forbidden: may not specify more than 1 volume type",
        ], errors);
    }

    [Fact]
    public void ValidatePod_WhenVolumeMountNamesNoVolume_IsNotFound()
    {
        var errors = Errors(NewPod(s => s.Containers[0].VolumeMounts = [new VolumeMount { Name = "data", MountPath = "/data" }]));
        Assert.Equal(["spec.containers[0].volumeMounts[0].name: Not found: \"data\""], errors);
    }

    [Fact]
    public void ValidatePod_Tolerations_OperatorAndEffect()
    {
        var errors = Errors(NewPod(s => s.Tolerations =
        [
            new Toleration { Key = "a", Operator = "Maybe" },
            new Toleration { Key = "b", Operator = "Exists", Effect = "NoRun" },
            new Toleration { Operator = "Equal", Value = "x" },
        ]));
        Assert.Equal(
        [
            "spec.tolerations[0].operator: Unsupported value: \"Maybe\": supported values: \"Equal\", \"Exists\"",
            "spec.tolerations[1].effect: Unsupported value: \"NoRun\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
            "spec.tolerations[2].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
        ], errors);
    }

    [Fact]
    public void ValidatePod_TopologySpreadConstraints()
    {
        var errors = Errors(NewPod(s => s.TopologySpreadConstraints =
        [
            new TopologySpreadConstraint { MaxSkew = 0, TopologyKey = "zone", WhenUnsatisfiable = "Maybe" },
        ]));
        Assert.Equal(
        [
            "spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero",
            "spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: \"Maybe\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\"",
        ], errors);
    }

    [Fact]
    public void ValidatePod_TopologySpreadNodeInclusionPolicies_AreHonorOrIgnore()
    {
        var errors = Errors(NewPod(s => s.TopologySpreadConstraints =
        [
            new TopologySpreadConstraint { MaxSkew = 1, TopologyKey = "zone", WhenUnsatisfiable = "DoNotSchedule", NodeAffinityPolicy = "Honor", NodeTaintsPolicy = "Ignore" },
            new TopologySpreadConstraint { MaxSkew = 1, TopologyKey = "site", WhenUnsatisfiable = "DoNotSchedule", NodeAffinityPolicy = "honor", NodeTaintsPolicy = "" },
        ]));
        Assert.Equal(
        [
            "spec.topologySpreadConstraints[1].nodeAffinityPolicy: Unsupported value: \"honor\": supported values: \"Honor\", \"Ignore\"",
            "spec.topologySpreadConstraints[1].nodeTaintsPolicy: Unsupported value: \"\": supported values: \"Honor\", \"Ignore\"",
        ], errors);
    }

    [Fact]
    public void ValidatePod_TopologySpreadMatchLabelKeys_NeedASelector_NotNamingItsKeys_AndAreLabelNames()
    {
        var selector = new Verge.Core.Selectors.LabelSelector
        {
            MatchLabels = new() { ["app"] = "web" },
            MatchExpressions = [new Verge.Core.Selectors.LabelSelectorRequirement { Key = "tier", Operator = "Exists" }],
        };
        var errors = Errors(NewPod(s => s.TopologySpreadConstraints =
        [
            new TopologySpreadConstraint { MaxSkew = 1, TopologyKey = "zone", WhenUnsatisfiable = "DoNotSchedule", LabelSelector = selector, MatchLabelKeys = ["pod-template-hash", "app", "tier", "bad key"] },
            new TopologySpreadConstraint { MaxSkew = 1, TopologyKey = "site", WhenUnsatisfiable = "DoNotSchedule", MatchLabelKeys = ["pod-template-hash"] },
        ]));
        Assert.Equal(4, errors.Count);
        Assert.Equal("spec.topologySpreadConstraints[0].matchLabelKeys[1]: Invalid value: \"app\": exists in both matchLabelKeys and labelSelector", errors[0]);
        Assert.Equal("spec.topologySpreadConstraints[0].matchLabelKeys[2]: Invalid value: \"tier\": exists in both matchLabelKeys and labelSelector", errors[1]);
        Assert.StartsWith("spec.topologySpreadConstraints[0].matchLabelKeys[3]: Invalid value: \"bad key\": name part must consist of alphanumeric characters", errors[2], StringComparison.Ordinal);
        Assert.Equal("spec.topologySpreadConstraints[1].matchLabelKeys: Forbidden: must not be specified when labelSelector is not set", errors[3]);
    }

    [Fact]
    public void ValidatePod_TopologySpreadMatchLabelKeys_WithTheirOwnKeys_AreValid()
    {
        Assert.Empty(Errors(NewPod(s => s.TopologySpreadConstraints =
        [
            new TopologySpreadConstraint
            {
                MaxSkew = 1,
                TopologyKey = "zone",
                WhenUnsatisfiable = "ScheduleAnyway",
                LabelSelector = new Verge.Core.Selectors.LabelSelector { MatchLabels = new() { ["app"] = "web" } },
                MatchLabelKeys = ["pod-template-hash", "example.com/revision"],
                NodeAffinityPolicy = "Ignore",
                NodeTaintsPolicy = "Honor",
            },
        ])));
    }

    [Fact]
    public void ValidatePod_EnvNeedsAName_AndOneSource()
    {
        var errors = Errors(NewPod(s => s.Containers[0].Env = [new EnvVar { Name = "1BAD" }, new EnvVar { Name = "A", ValueFrom = new EnvVarSource() }]));
        Assert.Equal(2, errors.Count);
        Assert.StartsWith("spec.containers[0].env[0].name: Invalid value: \"1BAD\": a valid environment variable name", errors[0], StringComparison.Ordinal);
        Assert.Equal("spec.containers[0].env[1].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`", errors[1]);
    }

    [Fact]
    public void ValidatePod_Update_SettingAnEmptyNodeNameIsAllowed_ANodeNameWithAnotherChangeIsNot_AndTheSpecIsLeftAsGiven()
    {
        var old = NewPod();
        var bound = NewPod(s => s.NodeName = "n1");
        var boundAndChanged = NewPod(s =>
        {
            s.NodeName = "n1";
            s.RestartPolicy = "Never";
        });
        var moved = NewPod(s => s.NodeName = "n2");

        Assert.Empty(PodValidation.ValidatePod(bound, old));
        Assert.Equal("n1", bound.Spec.NodeName);
        Assert.Single(PodValidation.ValidatePod(boundAndChanged, old));
        Assert.Equal("n1", boundAndChanged.Spec.NodeName);
        Assert.Single(PodValidation.ValidatePod(moved, bound));
        Assert.Equal("n2", moved.Spec.NodeName);
    }

    [Fact]
    public void ValidatePod_Gates_AreQualifiedNames_AndSchedulingGatesUnique()
    {
        var pod = NewPod(s =>
        {
            s.ReadinessGates = [new PodReadinessGate { ConditionType = "example.com/lb" }, new PodReadinessGate { ConditionType = "not a name" }];
            s.SchedulingGates = [new PodSchedulingGate { Name = "example.com/quota" }, new PodSchedulingGate { Name = "example.com/quota" }, new PodSchedulingGate { Name = "" }];
        });

        Assert.Equal(
            [
                "spec.readinessGates[1].conditionType: Invalid value: \"not a name\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "spec.schedulingGates[1]: Duplicate value: \"example.com/quota\"",
                "spec.schedulingGates[2]: Invalid value: \"\": name part must be non-empty",
                "spec.schedulingGates[2]: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            ],
            Errors(pod));
    }

    [Fact]
    public void ValidatePod_SchedulingGates_ForbidANodeNameAtCreate_AndMayOnlyBeRemovedLater()
    {
        var gated = NewPod(s =>
        {
            s.NodeName = "n1";
            s.SchedulingGates = [new PodSchedulingGate { Name = "example.com/a" }, new PodSchedulingGate { Name = "example.com/b" }];
        });
        Assert.Equal(["spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared"], Errors(gated));

        var old = NewPod(s => s.SchedulingGates = [new PodSchedulingGate { Name = "example.com/a" }, new PodSchedulingGate { Name = "example.com/b" }]);
        var removed = NewPod(s => s.SchedulingGates = [new PodSchedulingGate { Name = "example.com/b" }]);
        var cleared = NewPod();
        var added = NewPod(s => s.SchedulingGates = [new PodSchedulingGate { Name = "example.com/b" }, new PodSchedulingGate { Name = "example.com/c" }]);

        var boundWhileGated = NewPod(s =>
        {
            s.NodeName = "n1";
            s.SchedulingGates = [new PodSchedulingGate { Name = "example.com/a" }, new PodSchedulingGate { Name = "example.com/b" }];
        });
        Assert.Equal(
            ["spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared"],
            PodValidation.ValidatePod(boundWhileGated, old).Select(e => e.ToString()));
        Assert.Empty(PodValidation.ValidatePod(removed, old));
        Assert.Empty(PodValidation.ValidatePod(cleared, old));
        Assert.Equal(
            ["spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new scheduling gate 'example.com/c'"],
            PodValidation.ValidatePod(added, old).Select(e => e.ToString()));
        Assert.Equal(
            ["spec.schedulingGates[0].name: Forbidden: only deletion is allowed, but found new scheduling gate 'example.com/a'"],
            PodValidation.ValidatePod(NewPod(s => s.SchedulingGates = [new PodSchedulingGate { Name = "example.com/a" }]), cleared).Select(e => e.ToString()));
    }

    [Fact]
    public void ValidatePod_Update_OfReadinessGates_IsForbidden()
    {
        var old = NewPod(s => s.ReadinessGates = [new PodReadinessGate { ConditionType = "example.com/lb" }]);
        var changed = NewPod(s => s.ReadinessGates = [new PodReadinessGate { ConditionType = "example.com/other" }]);

        Assert.Equal("spec", Assert.Single(PodValidation.ValidatePod(changed, old)).Field);
    }
}
