using System.Text.Json;
using System.Text.Json.Nodes;
using Verge.Core.Apps;
using Verge.Core.Coordination;
using Verge.Core.Core;
using Verge.Core.Edge;
using Verge.Core.Meta;
using Verge.Core.Serialization;
using Verge.Core.Validation;

namespace Verge.Core.Tests.Serialization;

public sealed class VergeJsonTests
{
    internal const string SeedDeployment = """
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"edge-microservice"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"edge-microservice"}},"template":{"metadata":{"labels":{"app":"edge-microservice"}},"spec":{"containers":[{"name":"edge-microservice-container","image":"edge-service-image:latest","ports":[{"containerPort":8080}]}]}}}}
        """;

    internal const string FullPod = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default","creationTimestamp":"2026-01-02T03:04:05Z","labels":{"app":"web"}},"spec":{"initContainers":[{"name":"init","image":"busybox:1.36","command":["sh","-c","true"]}],"containers":[{"name":"app","image":"nginx:1.27","imagePullPolicy":"IfNotPresent","args":["--port","8080"],"workingDir":"/srv","env":[{"name":"A","value":"1"},{"name":"NODE","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"spec.nodeName"}}},{"name":"KEY","valueFrom":{"secretKeyRef":{"name":"s","key":"k","optional":true}}}],"envFrom":[{"prefix":"CFG_","configMapRef":{"name":"cfg"}}],"ports":[{"name":"http","containerPort":8080,"hostPort":80,"protocol":"TCP"}],"resources":{"limits":{"cpu":"500m","memory":"128Mi"},"requests":{"cpu":"250m","memory":"64Mi"}},"volumeMounts":[{"name":"data","mountPath":"/data","readOnly":true,"subPath":"x"}],"livenessProbe":{"httpGet":{"path":"/healthz","port":"http","scheme":"HTTP","httpHeaders":[{"name":"X","value":"y"}]},"initialDelaySeconds":5,"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},"readinessProbe":{"tcpSocket":{"port":8080},"periodSeconds":5},"startupProbe":{"exec":{"command":["cat","/ready"]}},"securityContext":{"runAsUser":1000,"runAsNonRoot":true,"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"volumes":[{"name":"data","emptyDir":{"medium":"Memory","sizeLimit":"1Gi"}},{"name":"cfg","configMap":{"name":"cfg","items":[{"key":"a","path":"a.txt","mode":420}],"defaultMode":420}},{"name":"sec","secret":{"secretName":"s","optional":false}},{"name":"host","hostPath":{"path":"/var/log","type":"Directory"}}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","nodeSelector":{"site":"plant-1"},"serviceAccountName":"default","nodeName":"edge-1","hostNetwork":false,"securityContext":{"fsGroup":2000},"imagePullSecrets":[{"name":"registry"}],"hostname":"web","subdomain":"svc","affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"arch","operator":"In","values":["arm64"]}]}]},"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":10,"preference":{"matchFields":[{"key":"metadata.name","operator":"In","values":["edge-1"]}]}}]},"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":{"matchLabels":{"app":"web"}},"topologyKey":"kubernetes.io/hostname","namespaces":["default"]}]}},"schedulerName":"default-scheduler","tolerations":[{"key":"edge","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],"priorityClassName":"high","priority":1000,"topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"app":"web"}},"minDomains":2}]},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-01-02T03:04:06Z"}],"hostIP":"10.0.0.1","podIP":"10.1.0.5","podIPs":[{"ip":"10.1.0.5"}],"startTime":"2026-01-02T03:04:05Z","containerStatuses":[{"name":"app","state":{"running":{"startedAt":"2026-01-02T03:04:06Z"}},"lastState":{"terminated":{"exitCode":1,"signal":9,"reason":"Error","message":"boom","startedAt":"2026-01-02T03:00:00Z","finishedAt":"2026-01-02T03:01:00Z","containerID":"runc://abc"}},"ready":true,"restartCount":1,"image":"nginx:1.27","imageID":"sha256:abc","containerID":"runc://def","started":true}],"qosClass":"Burstable"}}
        """;

    internal const string DeviceJson = """{"apiVersion":"edge.verge.dev/v1","kind":"Device","metadata":{"name":"pump-1","namespace":"plant"},"spec":{"protocol":"mqtt","credentialsSecret":"pump-1-creds","site":"plant-1","desired":{"speed":1200,"mode":"eco","limits":{"max":[1,2.5,null,true]}},"attributes":{"model":"P200"}},"status":{"reported":{"speed":1180},"lastSeen":"2026-01-02T03:04:05Z","connected":true,"gatewayNode":"gw-1","conditions":[{"type":"Online","status":"True","lastTransitionTime":"2026-01-02T03:04:05Z","reason":"Connected","message":"ok"}]}}""";

    internal const string DataRuleJson = """{"apiVersion":"edge.verge.dev/v1","kind":"DataRule","metadata":{"name":"avg"},"spec":{"nodeSelector":{"role":"gateway"},"site":"plant-1","statement":"SELECT avg(t) FROM 'sensors/+/data'","actions":[{"republish":{"topic":"avg/t","qos":1}},{"upstream":{"topic":"plant/avg","qos":1}},{"http":{"port":8080,"path":"/ingest","podSelector":{"matchLabels":{"app":"sink"}}}}],"enabled":true}}""";

    [Fact]
    public void SeedDeployment_RoundTripsExactly()
    {
        var deployment = JsonSerializer.Deserialize<Deployment>(SeedDeployment, VergeJson.StrictOptions)!;
        Assert.Equal(2, deployment.Spec.Replicas);
        Assert.Equal(8080, deployment.Spec.Template.Spec!.Containers[0].Ports![0].Port);
        Assert.Equal(SeedDeployment, JsonSerializer.Serialize(deployment, VergeJson.Options));
    }

    [Fact]
    public void FullPod_RoundTripsExactly()
    {
        var pod = JsonSerializer.Deserialize<Pod>(FullPod, VergeJson.StrictOptions)!;
        Assert.Equal("http", pod.Spec.Containers[0].LivenessProbe!.HttpGet!.Port.StringValue);
        Assert.Equal("128Mi", pod.Spec.Containers[0].Resources!.Limits!["memory"].ToString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(FullPod), JsonNode.Parse(JsonSerializer.Serialize(pod, VergeJson.Options))));
    }

    [Fact]
    public void StrictOptions_RejectUnknownFields()
    {
        const string json = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"a","image":"x","imagePullPolcy":"Always"}]}}""";
        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Pod>(json, VergeJson.StrictOptions));
        Assert.Contains("imagePullPolcy", error.Message, StringComparison.Ordinal);
        var lenient = JsonSerializer.Deserialize<Pod>(json, VergeJson.Options)!;
        Assert.Null(lenient.Spec.Containers[0].ImagePullPolicy);
    }

    [Fact]
    public void InvalidQuantity_IsAValidationErrorNotAnException()
    {
        var json = SeedDeployment.Replace("\"ports\":", "\"resources\":{\"limits\":{\"memory\":\"12x\"}},\"ports\":", StringComparison.Ordinal);
        var deployment = JsonSerializer.Deserialize<Deployment>(json, VergeJson.StrictOptions)!;
        AppsDefaults.Deployment(deployment);
        var errors = AppsValidation.ValidateDeployment(deployment, null);
        var error = Assert.Single(errors);
        Assert.Equal(
            "spec.template.spec.containers[0].resources.limits[memory]: Invalid value: \"12x\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            error.ToString());
    }

    [Fact]
    public void Times_AreWrittenAsRfc3339SecondsInUtc_AndMicroTimesWithMicroseconds()
    {
        var lease = new Lease
        {
            ApiVersion = "coordination.k8s.io/v1",
            Kind = "Lease",
            Metadata = new ObjectMeta { Name = "l", CreationTimestamp = new DateTimeOffset(2026, 1, 2, 4, 4, 5, 123, TimeSpan.FromHours(1)) },
            Spec = new LeaseSpec { RenewTime = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1234567) },
        };
        var json = JsonSerializer.Serialize(lease, VergeJson.Options);
        Assert.Contains("\"creationTimestamp\":\"2026-01-02T03:04:05Z\"", json, StringComparison.Ordinal);
        Assert.Contains("\"renewTime\":\"2026-01-02T03:04:05.123456Z\"", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2026-01-02T03:04:05Z")]
    [InlineData("2026-01-02T04:04:05+01:00")]
    [InlineData("2026-01-02T03:04:05.000000000Z")]
    [InlineData("2026-01-02T03:04:05.5Z")]
    public void Times_AreReadFromAnyRfc3339(string text)
    {
        var meta = JsonSerializer.Deserialize<ObjectMeta>($$"""{"creationTimestamp":"{{text}}"}""", VergeJson.Options)!;
        Assert.Equal(new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc), meta.CreationTimestamp!.Value.UtcDateTime.AddTicks(-(meta.CreationTimestamp.Value.UtcTicks % TimeSpan.TicksPerSecond)));
    }

    [Fact]
    public void Device_FreeFormObjects_RoundTrip()
    {
        var device = JsonSerializer.Deserialize<Device>(DeviceJson, VergeJson.StrictOptions)!;
        Assert.Equal("eco", device.Spec.Desired!["mode"]!.GetValue<string>());
        Assert.Equal(DeviceJson, JsonSerializer.Serialize(device, VergeJson.Options));
    }

    [Fact]
    public void DaemonEndpoint_PortKeepsKubernetesCapital()
    {
        const string json = """{"kubeletEndpoint":{"Port":10250}}""";
        var endpoints = JsonSerializer.Deserialize<NodeDaemonEndpoints>(json, VergeJson.StrictOptions)!;
        Assert.Equal(10250, endpoints.KubeletEndpoint!.Port);
        Assert.Equal(json, JsonSerializer.Serialize(endpoints, VergeJson.Options));
    }

    [Fact]
    public void Secret_DataIsBase64()
    {
        var secret = new Secret { Metadata = new ObjectMeta { Name = "s" }, Data = new() { ["k"] = "hi"u8.ToArray() } };
        var json = JsonSerializer.Serialize(secret, VergeJson.Options);
        Assert.Contains("\"data\":{\"k\":\"aGk=\"}", json, StringComparison.Ordinal);
        Assert.Equal("hi"u8.ToArray(), JsonSerializer.Deserialize<Secret>(json, VergeJson.Options)!.Data!["k"]);
    }

    [Fact]
    public void Status_SerializesItsOutcomeAsStatus()
    {
        var status = new Status { Outcome = "Failure", Reason = "NotFound", Code = 404, Message = "pods \"x\" not found" };
        Assert.Equal(
            """{"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure","message":"pods \"x\" not found","reason":"NotFound","code":404}""",
            JsonSerializer.Serialize(status, VergeJson.Options));
    }

    [Fact]
    public void DataRule_RoundTrips()
    {
        var rule = JsonSerializer.Deserialize<DataRule>(DataRuleJson, VergeJson.StrictOptions)!;
        Assert.Equal(3, rule.Spec.Actions.Count);
        Assert.Equal(DataRuleJson, JsonSerializer.Serialize(rule, VergeJson.Options));
    }

    [Fact]
    public void SameEncoding_IsTrueForEqualValues_FalseForAChangeOrReorderedMapKeys()
    {
        var info = VergeJsonContext.Default.ObjectMeta;
        var meta = new ObjectMeta { Name = "web", Labels = new() { ["app"] = "web", ["tier"] = "edge" } };

        Assert.True(VergeJson.SameEncoding(meta, new ObjectMeta { Name = "web", Labels = new() { ["app"] = "web", ["tier"] = "edge" } }, info));
        Assert.False(VergeJson.SameEncoding(meta, new ObjectMeta { Name = "web", Labels = new() { ["app"] = "web", ["tier"] = "core" } }, info));
        Assert.False(VergeJson.SameEncoding(meta, new ObjectMeta { Name = "web", Labels = new() { ["tier"] = "edge", ["app"] = "web" } }, info));
    }
}
