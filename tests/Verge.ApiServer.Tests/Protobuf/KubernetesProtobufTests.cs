using System.Text.Json.Nodes;
using Verge.ApiServer.Serialization.Protobuf;
using Verge.Core.Meta;

namespace Verge.ApiServer.Tests.Protobuf;

public class KubernetesProtobufTests
{
    private static ResourceType Type(string apiVersion, string kind) =>
        ResourceCatalog.FindByKind(apiVersion, kind) ?? throw new InvalidOperationException($"{kind} is not registered");

    private static ResourceType Deployments => Type("apps/v1", "Deployment");

    public static TheoryData<string> CaptureNames => [.. KubectlCaptures.All.Select(c => c.Command)];

    private static void AssertJson(string expected, JsonNode actual) =>
        Assert.True(
            JsonNode.DeepEquals(JsonNode.Parse(expected), actual),
            $"expected {JsonNode.Parse(expected)!.ToJsonString()}\nactual   {actual.ToJsonString()}");

    [Theory]
    [MemberData(nameof(CaptureNames))]
    public void KubectlBody_DecodesToTheJsonKubectlWouldHaveSent(string command)
    {
        var capture = KubectlCaptures.All.Single(c => c.Command == command);
        var kind = JsonNode.Parse(capture.Json)!;
        var type = Type(kind["apiVersion"]!.GetValue<string>(), kind["kind"]!.GetValue<string>());
        var ignored = new List<string>();

        var json = KubernetesProtobuf.Decode(capture.Body, type, ignored);

        AssertJson(capture.Json, json);
        Assert.Empty(ignored);
    }

    [Fact]
    public void KubectlBody_StartsWithKindAndApiVersion_AsKubectlsJsonDoes()
    {
        var json = KubernetesProtobuf.Decode(KubectlCaptures.Deployment.Body, Deployments);
        Assert.Equal(["kind", "apiVersion", "metadata", "spec", "status"], json.Select(p => p.Key));
    }

    [Theory]
    [MemberData(nameof(CaptureNames))]
    public void EveryTruncation_IsAFormatExceptionOrAShorterObject(string command)
    {
        var body = KubectlCaptures.All.Single(c => c.Command == command).Body;
        var type = Deployments;
        for (var length = 0; length < body.Length; length++)
        {
            try
            {
                KubernetesProtobuf.Decode(body.AsSpan(0, length), type);
            }
            catch (FormatException)
            {
            }
        }
    }

    [Fact]
    public void CorruptedBytes_OnlyEverThrowFormatException()
    {
        var random = new Random(20240611);
        foreach (var capture in KubectlCaptures.All)
        {
            for (var round = 0; round < 2000; round++)
            {
                var body = capture.Body;
                var flips = random.Next(1, 4);
                for (var i = 0; i < flips; i++)
                {
                    body[random.Next(4, body.Length)] = (byte)random.Next(256);
                }

                try
                {
                    KubernetesProtobuf.Decode(body, Deployments, new List<string>());
                }
                catch (FormatException)
                {
                }
            }
        }
    }

    [Fact]
    public void WrongMagic_IsAFormatException()
    {
        var body = KubectlCaptures.Namespace.Body;
        body[2] = (byte)'X';
        var e = Assert.Throws<FormatException>(() => KubernetesProtobuf.Decode(body, Type("v1", "Namespace")));
        Assert.Contains("k8s\\0", e.Message);
    }

    [Fact]
    public void JsonBody_IsAFormatException()
    {
        Assert.Throws<FormatException>(() => KubernetesProtobuf.Decode("{\"kind\":\"Namespace\"}"u8, Type("v1", "Namespace")));
    }

    [Fact]
    public void UnknownKind_IsAFormatExceptionNamingIt()
    {
        var body = ProtoWriter.Body("coordination.k8s.io/v1", "Lease", raw => raw.Message(1, m => m.String(1, "l")));
        var e = Assert.Throws<FormatException>(() => KubernetesProtobuf.Decode(body, Type("coordination.k8s.io/v1", "Lease")));
        Assert.Contains("Lease (coordination.k8s.io/v1)", e.Message);
    }

    [Fact]
    public void ContentEncoding_IsRefused()
    {
        var unknown = new ProtoWriter()
            .Message(1, t => t.String(1, "v1").String(2, "Namespace"))
            .Bytes(2, [])
            .String(3, "gzip");
        byte[] body = [.. "k8s\0"u8, .. unknown.ToArray()];
        var e = Assert.Throws<FormatException>(() => KubernetesProtobuf.Decode(body, Type("v1", "Namespace")));
        Assert.Contains("gzip", e.Message);
    }

    [Fact]
    public void EmptyTypeMeta_TakesTheKindFromTheUrl()
    {
        var unknown = new ProtoWriter().Message(2, raw => raw.Message(1, m => m.String(1, "cm")));
        byte[] body = [.. "k8s\0"u8, .. unknown.ToArray()];

        var json = KubernetesProtobuf.Decode(body, Type("v1", "ConfigMap"));

        AssertJson("""{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm"}}""", json);
    }

    [Fact]
    public void MismatchedKind_IsDecodedAsItSays_SoTheUsualUrlCheckRejectsIt()
    {
        var json = KubernetesProtobuf.Decode(KubectlCaptures.ConfigMap.Body, Deployments);
        Assert.Equal("ConfigMap", json["kind"]!.GetValue<string>());
    }

    [Fact]
    public void Supports_TheBuiltInKindsKubectlCreates()
    {
        Assert.True(KubernetesProtobuf.Supports(Type("v1", "Namespace")));
        Assert.True(KubernetesProtobuf.Supports(Type("v1", "ConfigMap")));
        Assert.True(KubernetesProtobuf.Supports(Type("v1", "Secret")));
        Assert.True(KubernetesProtobuf.Supports(Type("v1", "Pod")));
        Assert.True(KubernetesProtobuf.Supports(Deployments));
        Assert.True(KubernetesProtobuf.Supports(Type("apps/v1", "ReplicaSet")));
        Assert.True(KubernetesProtobuf.Supports(Type("apps/v1", "DaemonSet")));
        Assert.False(KubernetesProtobuf.Supports(Type("coordination.k8s.io/v1", "Lease")));
        Assert.False(KubernetesProtobuf.Supports(Type("edge.verge.dev/v1", "Site")));
    }

    [Fact]
    public void Schema_ResolvesEveryMessage()
    {
        Assert.NotEmpty(KubernetesSchema.Messages);
        foreach (var message in KubernetesSchema.Messages.Values)
        {
            foreach (var field in message.Fields.Values)
            {
                Assert.Equal(field.MessageName is not null, field.Message is not null);
            }
        }
    }

    [Fact]
    public void UnknownFields_AreSkipped_AndReportedWhenTheyHoldAValue()
    {
        var body = ProtoWriter.Body("apps/v1", "Deployment", d => d
            .Message(1, m => m.String(1, "web").Int(99, 7).Int(98, 0).String(97, ""))
            .Message(2, s => s
                .Int(1, 2)
                .Message(3, t => t.Message(2, p => p
                    .Message(2, c => c.String(1, "app").Message(77, x => x.String(1, "?")))))
                .String(50, "future")));
        var ignored = new List<string>();

        var json = KubernetesProtobuf.Decode(body, Deployments, ignored);

        AssertJson(
            """{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web"},"spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"app"}]}}}}""",
            json);
        Assert.Equal(
            [
                "unknown protobuf field 99 of ObjectMeta in metadata was ignored",
                "unknown protobuf field 77 of Container in spec.template.spec.containers[0] was ignored",
                "unknown protobuf field 50 of DeploymentSpec in spec was ignored",
            ],
            ignored);
    }

    [Fact]
    public void IgnoredFields_AreReportedAtMostTwentyTimes()
    {
        var body = ProtoWriter.Body("v1", "ConfigMap", c =>
        {
            for (var i = 0; i < 1000; i++)
            {
                c.Int(100 + i, i);
            }
        });
        var ignored = new List<string>();
        KubernetesProtobuf.Decode(body, Type("v1", "ConfigMap"), ignored);
        Assert.Equal(KubernetesProtobuf.MaxIgnoredReported, ignored.Count);
    }

    [Fact]
    public void WrongWireType_ForAKnownField_IsAFormatException()
    {
        var body = ProtoWriter.Body("apps/v1", "Deployment", d => d.Message(2, s => s.String(1, "three")));
        var e = Assert.Throws<FormatException>(() => KubernetesProtobuf.Decode(body, Deployments));
        Assert.Contains("spec.replicas", e.Message);
    }

    [Fact]
    public void Presence_FollowsGo_PointersKeepZero_OmitemptyValuesDropIt()
    {
        var body = ProtoWriter.Body("apps/v1", "Deployment", d => d
            .Message(2, s => s
                .Int(1, 0) // *int32 replicas
                .Int(5, 0) // int32 minReadySeconds,omitempty
                .Int(6, 0) // *int32 revisionHistoryLimit
                .Bool(7, false) // bool paused,omitempty
                .Message(3, t => t.Message(2, p => p
                    .Bool(30, false) // *bool enableServiceLinks
                    .Bool(11, false) // bool hostNetwork,omitempty
                    .Message(2, c => c
                        .String(1, "") // name, no omitempty
                        .String(2, "") // image,omitempty
                        .Message(6, port => port.Int(2, 0).Int(3, 0)))))));

        var json = KubernetesProtobuf.Decode(body, Deployments);

        AssertJson(
            """
            {"kind":"Deployment","apiVersion":"apps/v1","spec":{"replicas":0,"revisionHistoryLimit":0,
             "template":{"spec":{"enableServiceLinks":false,"containers":[{"name":"","ports":[{"containerPort":0}]}]}}}}
            """,
            json);
    }

    [Fact]
    public void Deployment_WithEveryCommonField_Decodes()
    {
        var body = ProtoWriter.Body("apps/v1", "Deployment", d => d
            .Message(1, m => m
                .String(1, "api")
                .String(3, "edge")
                .Message(8, t => { })
                .Entry(11, "app", "api")
                .Entry(11, "tier", "backend")
                .Entry(12, "note", "x")
                .Message(13, o => o.String(1, "Site").String(3, "s1").String(4, "u-1").String(5, "edge.verge.dev/v1").Bool(6, true))
                .String(14, "example.com/cleanup"))
            .Message(2, s => s
                .Int(1, 3)
                .Message(2, sel => sel
                    .Entry(1, "app", "api")
                    .Message(2, r => r.String(1, "tier").String(2, "In").String(3, "backend").String(3, "web")))
                .Message(3, t => t
                    .Message(1, m => m.Entry(11, "app", "api"))
                    .Message(2, p => p
                        .String(3, "Always")
                        .Int(4, 30)
                        .Entry(7, "zone", "a")
                        .Message(2, c => c
                            .String(1, "api")
                            .String(2, "registry/api:1")
                            .String(3, "/app")
                            .String(4, "--port").String(4, "8080")
                            .String(5, "/srv")
                            .Message(6, port => port.String(1, "http").Int(3, 8080).String(4, "TCP"))
                            .Message(7, e => e.String(1, "MODE").String(2, "edge"))
                            .Message(7, e => e.String(1, "TOKEN").Message(3, v => v.Message(4, k => k.Message(1, l => l.String(1, "creds")).String(2, "token"))))
                            .Message(7, e => e.String(1, "NODE").Message(3, v => v.Message(1, f => f.String(1, "v1").String(2, "spec.nodeName"))))
                            .Message(8, r => r
                                .Message(1, q => q.String(1, "cpu").Message(2, v => v.String(1, "500m")))
                                .Message(2, q => q.String(1, "memory").Message(2, v => v.String(1, "64Mi"))))
                            .Message(9, v => v.String(1, "config").Bool(2, true).String(3, "/etc/api"))
                            .Message(10, probe => probe
                                .Message(1, h => h.Message(2, g => g.String(1, "/healthz").Message(2, port => port.Int(1, 1).String(3, "http"))))
                                .Int(2, 5)
                                .Int(4, 10))
                            .Message(11, probe => probe
                                .Message(1, h => h.Message(3, tcp => tcp.Message(1, port => port.Int(1, 0).Int(2, 8080)))))
                            .String(13, "/dev/termination-log")
                            .String(14, "IfNotPresent")
                            .String(20, "File"))
                        .Message(1, v => v.String(1, "config").Message(2, src => src.Message(19, cm => cm.Message(1, l => l.String(1, "settings")).Int(3, 420))))
                        .Message(22, t2 => t2.String(1, "node-role").String(2, "Exists").String(4, "NoSchedule"))))
                .Message(4, st => st
                    .String(1, "RollingUpdate")
                    .Message(2, ru => ru
                        .Message(1, v => v.Int(1, 1).String(3, "25%"))
                        .Message(2, v => v.Int(1, 0).Int(2, 1))))
                .Int(6, 5)
                .Int(9, 600))
            .Message(3, st => st.Int(1, 0).Int(2, 0)));

        var ignored = new List<string>();
        var json = KubernetesProtobuf.Decode(body, Deployments, ignored);

        Assert.Empty(ignored);
        AssertJson(
            """
            {"kind":"Deployment","apiVersion":"apps/v1",
             "metadata":{"name":"api","namespace":"edge","labels":{"app":"api","tier":"backend"},"annotations":{"note":"x"},
                         "ownerReferences":[{"kind":"Site","name":"s1","uid":"u-1","apiVersion":"edge.verge.dev/v1","controller":true}],
                         "finalizers":["example.com/cleanup"]},
             "spec":{"replicas":3,
                     "selector":{"matchLabels":{"app":"api"},"matchExpressions":[{"key":"tier","operator":"In","values":["backend","web"]}]},
                     "template":{"metadata":{"labels":{"app":"api"}},
                                 "spec":{"restartPolicy":"Always","terminationGracePeriodSeconds":30,"nodeSelector":{"zone":"a"},
                                         "containers":[{"name":"api","image":"registry/api:1","command":["/app"],"args":["--port","8080"],
                                                        "workingDir":"/srv","ports":[{"name":"http","containerPort":8080,"protocol":"TCP"}],
                                                        "env":[{"name":"MODE","value":"edge"},
                                                               {"name":"TOKEN","valueFrom":{"secretKeyRef":{"name":"creds","key":"token"}}},
                                                               {"name":"NODE","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"spec.nodeName"}}}],
                                                        "resources":{"limits":{"cpu":"500m"},"requests":{"memory":"64Mi"}},
                                                        "volumeMounts":[{"name":"config","readOnly":true,"mountPath":"/etc/api"}],
                                                        "livenessProbe":{"httpGet":{"path":"/healthz","port":"http"},"initialDelaySeconds":5,"periodSeconds":10},
                                                        "readinessProbe":{"tcpSocket":{"port":8080}},
                                                        "terminationMessagePath":"/dev/termination-log","imagePullPolicy":"IfNotPresent",
                                                        "terminationMessagePolicy":"File"}],
                                         "volumes":[{"name":"config","configMap":{"name":"settings","defaultMode":420}}],
                                         "tolerations":[{"key":"node-role","operator":"Exists","effect":"NoSchedule"}]}},
                     "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"25%","maxSurge":1}},
                     "revisionHistoryLimit":5,"progressDeadlineSeconds":600},
             "status":{}}
            """,
            json);
    }

    [Fact]
    public void Times_AreRfc3339Seconds_AndEmptyOnesAreLeftOut()
    {
        var body = ProtoWriter.Body("v1", "Namespace", n => n
            .Message(1, m => m.String(1, "ns").Message(8, t => { }).Message(9, t => t.Int(1, 1_700_000_000).Int(2, 123)))
            .Message(3, s => s.String(1, "Terminating").Message(2, c => c.String(1, "Ready").String(2, "True").Message(4, t => t.Int(1, 0)))));

        var json = KubernetesProtobuf.Decode(body, Type("v1", "Namespace"));

        AssertJson(
            """
            {"kind":"Namespace","apiVersion":"v1","metadata":{"name":"ns","deletionTimestamp":"2023-11-14T22:13:20Z"},
             "status":{"phase":"Terminating","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"1970-01-01T00:00:00Z"}]}}
            """,
            json);
    }

    [Fact]
    public void Secret_KeepsStringDataTypeAndImmutable()
    {
        var body = ProtoWriter.Body("v1", "Secret", s => s
            .Message(1, m => m.String(1, "tls"))
            .Bool(5, false)
            .Message(2, e => e.String(1, "raw").Bytes(2, [0xff, 0x00]))
            .Entry(4, "plain", "text")
            .String(3, "kubernetes.io/tls"));

        var json = KubernetesProtobuf.Decode(body, Type("v1", "Secret"));

        AssertJson(
            """{"kind":"Secret","apiVersion":"v1","metadata":{"name":"tls"},"immutable":false,"data":{"raw":"/wA="},"stringData":{"plain":"text"},"type":"kubernetes.io/tls"}""",
            json);
    }

    [Fact]
    public void PackedAndUnpackedRepeatedNumbers_BothDecode()
    {
        var packed = new ProtoWriter().Varint(1000).Varint(2000).ToArray();
        var body = ProtoWriter.Body("v1", "Pod", p => p
            .Message(2, s => s.Message(14, sc => sc.Int(4, 5).Bytes(4, packed).Int(5, 0))));

        var json = KubernetesProtobuf.Decode(body, Type("v1", "Pod"));

        AssertJson(
            """{"kind":"Pod","apiVersion":"v1","spec":{"securityContext":{"supplementalGroups":[5,1000,2000],"fsGroup":0}}}""",
            json);
    }

    [Fact]
    public void RepeatedMessageField_IsMergedAndScalarsAreLastWins()
    {
        var body = ProtoWriter.Body("v1", "ConfigMap", c => c
            .Message(1, m => m.String(1, "first").Entry(11, "a", "1"))
            .Message(1, m => m.String(1, "second").Entry(11, "b", "2")));

        var json = KubernetesProtobuf.Decode(body, Type("v1", "ConfigMap"));

        AssertJson("""{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"second","labels":{"a":"1","b":"2"}}}""", json);
    }

    [Fact]
    public void ManagedFields_FieldsV1_IsTheRawJson()
    {
        var body = ProtoWriter.Body("v1", "ConfigMap", c => c
            .Message(1, m => m.String(1, "cm").Message(17, e => e
                .String(1, "kubectl")
                .String(2, "Update")
                .String(3, "v1")
                .String(6, "FieldsV1")
                .Message(7, f => f.String(1, """{"f:data":{"f:a":{}}}""")))));

        var json = KubernetesProtobuf.Decode(body, Type("v1", "ConfigMap"));

        AssertJson(
            """
            {"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm","managedFields":[
              {"manager":"kubectl","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:a":{}}}}]}}
            """,
            json);
    }

    [Fact]
    public void InvalidIntOrStringType_IsAFormatException()
    {
        var body = ProtoWriter.Body("apps/v1", "Deployment", d => d
            .Message(2, s => s.Message(4, st => st.Message(2, ru => ru.Message(1, v => v.Int(1, 7))))));
        var e = Assert.Throws<FormatException>(() => KubernetesProtobuf.Decode(body, Deployments));
        Assert.Contains("spec.strategy.rollingUpdate.maxUnavailable", e.Message);
    }

    [Fact]
    public void Scale_DecodesForTheScaleSubresource()
    {
        var body = ProtoWriter.Body("autoscaling/v1", "Scale", s => s
            .Message(1, m => m.String(1, "web").String(3, "default"))
            .Message(2, sp => sp.Int(1, 4))
            .Message(3, st => st.Int(1, 0)));

        var json = KubernetesProtobuf.Decode(body, Deployments);

        AssertJson(
            """{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"web","namespace":"default"},"spec":{"replicas":4},"status":{"replicas":0}}""",
            json);
    }
}
