using System.Net;
using System.Text.Json.Nodes;

namespace Verge.ApiServer.Tests.Http;

public sealed class CrudTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private readonly HttpClient _client = server.AdminClient();

    [Fact]
    public async Task Create_ThenGet_ReturnsObjectWithServerMetadata()
    {
        var created = await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("crud-1")));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.ReadObjectAsync();
        var meta = body["metadata"]!;
        Assert.Equal("default", meta["namespace"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(meta["uid"]!.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(meta["resourceVersion"]!.GetValue<string>()));
        Assert.NotNull(meta["creationTimestamp"]);

        var fetched = await (await _client.GetAsync("/api/v1/namespaces/default/configmaps/crud-1")).ReadObjectAsync();
        Assert.Equal(meta["uid"]!.GetValue<string>(), fetched["metadata"]!["uid"]!.GetValue<string>());
        Assert.Equal(meta["resourceVersion"]!.GetValue<string>(), fetched["metadata"]!["resourceVersion"]!.GetValue<string>());
        Assert.Equal("v", fetched["data"]!["k"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_FromYamlBody_IsAccepted()
    {
        const string yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: crud-yaml\ndata:\n  a: \"1\"\n";
        var created = await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(yaml, "application/yaml"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("1", (await created.ReadObjectAsync())["data"]!["a"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_WithGenerateName_AssignsUniqueNames()
    {
        var body = """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"gen-"}}""";
        var a = await (await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(body))).ReadObjectAsync();
        var b = await (await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(body))).ReadObjectAsync();
        var nameA = a["metadata"]!["name"]!.GetValue<string>();
        var nameB = b["metadata"]!["name"]!.GetValue<string>();
        Assert.StartsWith("gen-", nameA, StringComparison.Ordinal);
        Assert.Equal(9, nameA.Length);
        Assert.NotEqual(nameA, nameB);
    }

    [Fact]
    public async Task Create_Twice_IsAlreadyExists()
    {
        await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("crud-dup")));
        var again = await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("crud-dup")));
        var status = await Api.StatusOf(again, 409);
        Assert.Equal("AlreadyExists", status["reason"]!.GetValue<string>());
        Assert.Equal("configmaps \"crud-dup\" already exists", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Update_WithStaleResourceVersion_IsConflict()
    {
        var created = await (await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("crud-cas")))).ReadObjectAsync();
        var rv = created["metadata"]!["resourceVersion"]!.GetValue<string>();
        created["data"] = new JsonObject { ["k"] = "v2" };
        var first = await _client.PutAsync("/api/v1/namespaces/default/configmaps/crud-cas", Api.Json(created.ToJsonString()));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.NotEqual(rv, (await first.ReadObjectAsync())["metadata"]!["resourceVersion"]!.GetValue<string>());

        created["data"] = new JsonObject { ["k"] = "v3" };
        var stale = await _client.PutAsync("/api/v1/namespaces/default/configmaps/crud-cas", Api.Json(created.ToJsonString()));
        var status = await Api.StatusOf(stale, 409);
        Assert.Equal("Conflict", status["reason"]!.GetValue<string>());
        Assert.Contains("the object has been modified", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task ConcurrentPatches_WithoutResourceVersion_AllSucceed()
    {
        await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("crud-race")));
        var patches = Enumerable.Range(0, 20).Select(i => _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/crud-race")
        {
            Content = Api.Json("{\"metadata\":{\"labels\":{\"l" + i + "\":\"x\"}}}", i % 2 == 0 ? "application/merge-patch+json" : "application/strategic-merge-patch+json"),
        }));
        var responses = await Task.WhenAll(patches);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var final = await (await _client.GetAsync("/api/v1/namespaces/default/configmaps/crud-race")).ReadObjectAsync();
        Assert.Equal(20, final["metadata"]!["labels"]!.AsObject().Count);
    }

    [Fact]
    public async Task Patch_WithStaleResourceVersionInPatch_IsConflict()
    {
        var created = await (await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("crud-pinned")))).ReadObjectAsync();
        var rv = created["metadata"]!["resourceVersion"]!.GetValue<string>();
        await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/crud-pinned")
        {
            Content = Api.Json("""{"data":{"k":"moved"}}""", "application/merge-patch+json"),
        });
        var stale = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/crud-pinned")
        {
            Content = Api.Json($$$"""{"metadata":{"resourceVersion":"{{{rv}}}"},"data":{"k":"late"}}""", "application/merge-patch+json"),
        });
        await Api.StatusOf(stale, 409);
    }

    [Fact]
    public async Task Delete_RemovesObject_ThenGetIsNotFound()
    {
        await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(Api.ConfigMap("crud-del")));
        var deleted = await _client.DeleteAsync("/api/v1/namespaces/default/configmaps/crud-del");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        var status = await Api.StatusOf(await _client.GetAsync("/api/v1/namespaces/default/configmaps/crud-del"), 404);
        Assert.Equal("NotFound", status["reason"]!.GetValue<string>());
        Assert.Equal("configmaps \"crud-del\" not found", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Delete_WithFinalizer_MarksThenRemovesWhenFinalizerCleared()
    {
        var body = """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"crud-fin","finalizers":["verge.dev/test"]}}""";
        await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(body));
        var marked = await (await _client.DeleteAsync("/api/v1/namespaces/default/configmaps/crud-fin")).ReadObjectAsync();
        Assert.NotNull(marked["metadata"]!["deletionTimestamp"]);
        var still = await _client.GetAsync("/api/v1/namespaces/default/configmaps/crud-fin");
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);

        var patch = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/crud-fin")
        {
            Content = Api.Json("""{"metadata":{"finalizers":null}}""", "application/merge-patch+json"),
        };
        Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(patch)).StatusCode);
        await Api.StatusOf(await _client.GetAsync("/api/v1/namespaces/default/configmaps/crud-fin"), 404);
    }

    [Fact]
    public async Task Create_InMissingNamespace_IsNotFound()
    {
        var response = await _client.PostAsync("/api/v1/namespaces/nowhere/configmaps", Api.Json(Api.ConfigMap("x")));
        var status = await Api.StatusOf(response, 404);
        Assert.Equal("namespaces \"nowhere\" not found", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Deployment_SpecChange_BumpsGeneration_LabelChangeDoesNot()
    {
        var deployment = """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"gen-test"},
             "spec":{"replicas":1,"selector":{"matchLabels":{"app":"g"}},
                     "template":{"metadata":{"labels":{"app":"g"}},"spec":{"containers":[{"name":"c","image":"img:1"}]}}}}
            """;
        var created = await (await _client.PostAsync("/apis/apps/v1/namespaces/default/deployments", Api.Json(deployment))).ReadObjectAsync();
        Assert.Equal(1, created["metadata"]!["generation"]!.GetValue<long>());

        var label = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/apis/apps/v1/namespaces/default/deployments/gen-test")
        {
            Content = Api.Json("""{"metadata":{"labels":{"tier":"edge"}}}""", "application/merge-patch+json"),
        });
        Assert.Equal(1, (await label.ReadObjectAsync())["metadata"]!["generation"]!.GetValue<long>());

        var scale = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/apis/apps/v1/namespaces/default/deployments/gen-test")
        {
            Content = Api.Json("""{"spec":{"replicas":3}}""", "application/strategic-merge-patch+json"),
        });
        var scaled = await scale.ReadObjectAsync();
        Assert.Equal(2, scaled["metadata"]!["generation"]!.GetValue<long>());
        Assert.Equal(3, scaled["spec"]!["replicas"]!.GetValue<int>());
    }

    [Fact]
    public async Task StatusSubresource_WritesOnlyStatus_AndMainResourceKeepsStatus()
    {
        var deployment = """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"status-test"},
             "spec":{"replicas":1,"selector":{"matchLabels":{"app":"s"}},
                     "template":{"metadata":{"labels":{"app":"s"}},"spec":{"containers":[{"name":"c","image":"img:1"}]}}}}
            """;
        await _client.PostAsync("/apis/apps/v1/namespaces/default/deployments", Api.Json(deployment));
        var statusPatch = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/apis/apps/v1/namespaces/default/deployments/status-test/status")
        {
            Content = Api.Json("""{"spec":{"replicas":9},"status":{"replicas":1,"readyReplicas":1}}""", "application/merge-patch+json"),
        });
        var afterStatus = await statusPatch.ReadObjectAsync();
        Assert.Equal(1, afterStatus["status"]!["readyReplicas"]!.GetValue<int>());
        Assert.Equal(1, afterStatus["spec"]!["replicas"]!.GetValue<int>());

        var specPatch = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/apis/apps/v1/namespaces/default/deployments/status-test")
        {
            Content = Api.Json("""{"spec":{"replicas":2},"status":{"readyReplicas":7}}""", "application/merge-patch+json"),
        });
        var afterSpec = await specPatch.ReadObjectAsync();
        Assert.Equal(2, afterSpec["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(1, afterSpec["status"]!["readyReplicas"]!.GetValue<int>());
    }

    [Fact]
    public async Task ScaleSubresource_ReadsAndWritesReplicas()
    {
        var deployment = """
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"scale-test"},
             "spec":{"replicas":2,"selector":{"matchLabels":{"app":"sc"}},
                     "template":{"metadata":{"labels":{"app":"sc"}},"spec":{"containers":[{"name":"c","image":"img:1"}]}}}}
            """;
        await _client.PostAsync("/apis/apps/v1/namespaces/default/deployments", Api.Json(deployment));
        var scale = await (await _client.GetAsync("/apis/apps/v1/namespaces/default/deployments/scale-test/scale")).ReadObjectAsync();
        Assert.Equal("Scale", scale["kind"]!.GetValue<string>());
        Assert.Equal(2, scale["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal("app=sc", scale["status"]!["selector"]!.GetValue<string>());

        var patched = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/apis/apps/v1/namespaces/default/deployments/scale-test/scale")
        {
            Content = Api.Json("""{"spec":{"replicas":5}}""", "application/merge-patch+json"),
        });
        Assert.Equal(5, (await patched.ReadObjectAsync())["spec"]!["replicas"]!.GetValue<int>());
        var deploymentNow = await (await _client.GetAsync("/apis/apps/v1/namespaces/default/deployments/scale-test")).ReadObjectAsync();
        Assert.Equal(5, deploymentNow["spec"]!["replicas"]!.GetValue<int>());

        var negative = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/apis/apps/v1/namespaces/default/deployments/scale-test/scale")
        {
            Content = Api.Json("""{"spec":{"replicas":-1}}""", "application/merge-patch+json"),
        });
        await Api.StatusOf(negative, 422);
    }

    [Fact]
    public async Task DataRule_WhenStatementDoesNotParse_Is422WithColumnAndReasonOnSpecStatement()
    {
        const string bad = """{"apiVersion":"edge.verge.dev/v1","kind":"DataRule","metadata":{"name":"bad-rule"},"spec":{"statement":"SELECT avgg(temp) AS a FROM 'devices/+/telemetry'","actions":[{"upstream":{"topic":"up"}}]}}""";
        var status = await Api.StatusOf(await _client.PostAsync("/apis/edge.verge.dev/v1/namespaces/default/datarules", Api.Json(bad)), 422);

        var cause = status["details"]!["causes"]![0]!;
        Assert.Equal("spec.statement", cause["field"]!.GetValue<string>());
        Assert.EndsWith("unknown function 'avgg' at column 8", cause["message"]!.GetValue<string>());

        const string good = """{"apiVersion":"edge.verge.dev/v1","kind":"DataRule","metadata":{"name":"temp-avg"},"spec":{"nodeSelector":{"verge.dev/site":"s1"},"statement":"SELECT topic(2) AS deviceId, avg(temp) AS avgTemp, max(temp) AS maxTemp, count(*) AS n\nFROM 'devices/+/telemetry' WHERE temp > -40 GROUP BY topic(2), TUMBLING(10s)\n","actions":[{"republish":{"topic":"local/temp-avg"}},{"upstream":{"topic":"sites/s1/temp-avg"}}]}}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/apis/edge.verge.dev/v1/namespaces/default/datarules", Api.Json(good))).StatusCode);
    }

    [Fact]
    public async Task DataRule_HttpActionWithBothUrlAndPodSelector_Is422NamingTheField()
    {
        const string both = """{"apiVersion":"edge.verge.dev/v1","kind":"DataRule","metadata":{"name":"both"},"spec":{"statement":"SELECT a FROM 't'","actions":[{"http":{"url":"http://10.0.0.1/x","podSelector":{"matchLabels":{"app":"sink"}},"port":8080}}]}}""";
        var status = await Api.StatusOf(await _client.PostAsync("/apis/edge.verge.dev/v1/namespaces/default/datarules", Api.Json(both)), 422);

        var cause = status["details"]!["causes"]![0]!;
        Assert.Equal("spec.actions[0].http", cause["field"]!.GetValue<string>());
        Assert.Contains("exactly one of: `url` or `podSelector`", cause["message"]!.GetValue<string>(), StringComparison.Ordinal);

        const string toPod = """{"apiVersion":"edge.verge.dev/v1","kind":"DataRule","metadata":{"name":"to-pod"},"spec":{"statement":"SELECT a FROM 't'","actions":[{"http":{"podSelector":{"matchLabels":{"app":"sink"}},"port":8080,"path":"/ingest"}}]}}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/apis/edge.verge.dev/v1/namespaces/default/datarules", Api.Json(toPod))).StatusCode);
    }

    [Fact]
    public async Task Binding_SetsNodeNameOnce_SecondBindingConflicts()
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bind-me"},"spec":{"containers":[{"name":"c","image":"img:1"}]}}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod))).StatusCode);
        var binding = """{"apiVersion":"v1","kind":"Binding","metadata":{"name":"bind-me"},"target":{"kind":"Node","name":"n1"}}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/namespaces/default/pods/bind-me/binding", Api.Json(binding))).StatusCode);
        var bound = await (await _client.GetAsync("/api/v1/namespaces/default/pods/bind-me")).ReadObjectAsync();
        Assert.Equal("n1", bound["spec"]!["nodeName"]!.GetValue<string>());
        await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/pods/bind-me/binding", Api.Json(binding)), 409);
    }

    [Fact]
    public async Task Pod_Update_MayChangeImagesButNotTheRestOfTheSpec()
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"immutable"},"spec":{"containers":[{"name":"c","image":"img:1"}]}}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod))).StatusCode);
        var image = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/pods/immutable")
        {
            Content = Api.Json("""{"spec":{"containers":[{"name":"c","image":"img:2"}]}}""", "application/strategic-merge-patch+json"),
        });
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        var policy = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/default/pods/immutable")
        {
            Content = Api.Json("""{"spec":{"restartPolicy":"Never"}}""", "application/merge-patch+json"),
        });
        var status = await Api.StatusOf(policy, 422);
        Assert.Contains("pod updates may not change fields other than", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Pod_WithPriorityClass_GetsItsPriority_UnknownClassIsForbidden()
    {
        var pc = """{"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"edge-critical"},"value":5000}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/apis/scheduling.k8s.io/v1/priorityclasses", Api.Json(pc))).StatusCode);
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"prio"},"spec":{"priorityClassName":"edge-critical","containers":[{"name":"c","image":"i"}]}}""";
        var created = await (await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod))).ReadObjectAsync();
        Assert.Equal(5000, created["spec"]!["priority"]!.GetValue<int>());

        var missing = pod.Replace("edge-critical", "no-such-class", StringComparison.Ordinal).Replace("\"prio\"", "\"prio-2\"", StringComparison.Ordinal);
        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(missing)), 403);
        Assert.Contains("no PriorityClass with name no-such-class was found", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task PriorityClass_ASecondGlobalDefault_IsForbidden_AndPodsGetTheDefaultsNameAndPolicy()
    {
        const string Classes = "/apis/scheduling.k8s.io/v1/priorityclasses";
        var first = """{"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"fleet-default"},"value":7,"globalDefault":true,"preemptionPolicy":"Never"}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync(Classes, Api.Json(first))).StatusCode);
        try
        {
            var second = """{"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"other-default"},"value":8,"globalDefault":true}""";
            var status = await Api.StatusOf(await _client.PostAsync(Classes, Api.Json(second)), 403);
            Assert.Equal("priorityclasses.scheduling.k8s.io \"other-default\" is forbidden: PriorityClass fleet-default is already marked as default. Only one default can exist",
                status["message"]!.GetValue<string>());

            var plain = second.Replace("\"globalDefault\":true", "\"globalDefault\":false", StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync(Classes, Api.Json(plain))).StatusCode);
            var promote = new HttpRequestMessage(HttpMethod.Patch, Classes + "/other-default")
            {
                Content = Api.Json("""{"globalDefault":true}""", "application/merge-patch+json"),
            };
            await Api.StatusOf(await _client.SendAsync(promote), 403);

            var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"defaulted"},"spec":{"containers":[{"name":"c","image":"i"}]}}""";
            var spec = (await (await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod))).ReadObjectAsync())["spec"]!;
            Assert.Equal(("fleet-default", 7, "Never"),
                (spec["priorityClassName"]!.GetValue<string>(), spec["priority"]!.GetValue<int>(), spec["preemptionPolicy"]!.GetValue<string>()));

            var contrary = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"contrary"},"spec":{"preemptionPolicy":"PreemptLowerPriority","containers":[{"name":"c","image":"i"}]}}""";
            var refused = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(contrary)), 403);
            Assert.Contains("the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec", refused["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        finally
        {
            await _client.DeleteAsync(Classes + "/fleet-default");
            await _client.DeleteAsync(Classes + "/other-default");
            await _client.DeleteAsync("/api/v1/namespaces/default/pods/defaulted");
        }
    }

    [Fact]
    public async Task Pod_RightAfterItsPriorityClassIsDeleted_IsForbidden()
    {
        var pc = """{"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"short-lived"},"value":100}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/apis/scheduling.k8s.io/v1/priorityclasses", Api.Json(pc))).StatusCode);
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"NAME"},"spec":{"priorityClassName":"short-lived","containers":[{"name":"c","image":"i"}]}}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod.Replace("NAME", "short-1", StringComparison.Ordinal)))).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await _client.DeleteAsync("/apis/scheduling.k8s.io/v1/priorityclasses/short-lived")).StatusCode);

        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod.Replace("NAME", "short-2", StringComparison.Ordinal))), 403);
        Assert.Contains("no PriorityClass with name short-lived was found", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task GenerateName_IsCutSoTheGeneratedNameFits63Characters()
    {
        var stem = new string('a', 70) + "-";
        var body = $$$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"{{{stem}}}"}}""";
        var created = await (await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(body))).ReadObjectAsync();

        var name = created["metadata"]!["name"]!.GetValue<string>();
        Assert.Equal(63, name.Length);
        Assert.StartsWith(new string('a', 58), name, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DryRun_ValidatesWithoutPersisting()
    {
        var response = await _client.PostAsync("/api/v1/namespaces/default/configmaps?dryRun=All", Api.Json(Api.ConfigMap("crud-dry")));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        await Api.StatusOf(await _client.GetAsync("/api/v1/namespaces/default/configmaps/crud-dry"), 404);
    }

    [Fact]
    public async Task Namespace_WithFinalizedContent_StaysTerminatingUntilTheFinalizerIsRemoved()
    {
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/namespaces", Api.Json("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"held"}}"""))).StatusCode);
        var held = """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"holder","finalizers":["verge.dev/hold"]}}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/namespaces/held/configmaps", Api.Json(held))).StatusCode);
        var watch = await _client.GetAsync("/api/v1/namespaces/held/configmaps?watch=1&resourceVersion=0&timeoutSeconds=30", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await watch.Content.ReadAsStreamAsync());
        Assert.Equal("ADDED", JsonNode.Parse((await reader.ReadLineAsync())!)!["type"]!.GetValue<string>());

        Assert.True((await _client.DeleteAsync("/api/v1/namespaces/held")).IsSuccessStatusCode);
        // The namespace controller marks the held object for deletion; it stays while its finalizer does.
        var marked = JsonNode.Parse((await reader.ReadLineAsync())!)!;
        Assert.Equal("MODIFIED", marked["type"]!.GetValue<string>());
        Assert.NotNull(marked["object"]!["metadata"]!["deletionTimestamp"]);
        var ns = await (await _client.GetAsync("/api/v1/namespaces/held")).ReadObjectAsync();
        Assert.Equal("Terminating", ns["status"]!["phase"]!.GetValue<string>());

        var release = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/namespaces/held/configmaps/holder")
        {
            Content = Api.Json("""{"metadata":{"finalizers":null}}""", "application/merge-patch+json"),
        };
        Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(release)).StatusCode);
        var nsWatch = await _client.GetAsync("/api/v1/namespaces?watch=1&fieldSelector=metadata.name%3Dheld&timeoutSeconds=30", HttpCompletionOption.ResponseHeadersRead);
        using var nsReader = new StreamReader(await nsWatch.Content.ReadAsStreamAsync());
        string? line;
        var gone = false;
        while ((line = await nsReader.ReadLineAsync()) is not null)
        {
            if (JsonNode.Parse(line)!["type"]!.GetValue<string>() == "DELETED")
            {
                gone = true;
                break;
            }
        }

        Assert.True(gone);
    }

    [Theory]
    [InlineData("default")]
    [InlineData("kube-system")]
    [InlineData("kube-public")]
    public async Task SystemNamespace_Delete_IsForbidden(string name)
    {
        var status = await Api.StatusOf(await _client.DeleteAsync("/api/v1/namespaces/" + name), 403);
        Assert.Contains("this namespace may not be deleted", status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task DeleteCollection_AcrossNamespaces_IsNotAllowed()
    {
        await Api.StatusOf(await _client.DeleteAsync("/api/v1/configmaps"), 405);
        await Api.StatusOf(await _client.DeleteAsync("/api/v1/namespaces"), 405);
        await Api.StatusOf(await _client.DeleteAsync("/api/v1/namespaces/default/configmaps?limit=abc"), 400);
    }

    [Fact]
    public async Task Namespace_Delete_RemovesItsContents()
    {
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/namespaces", Api.Json("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"doomed"}}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/namespaces/doomed/configmaps", Api.Json(Api.ConfigMap("inside")))).StatusCode);
        var watch = await _client.GetAsync("/api/v1/namespaces?watch=1&fieldSelector=metadata.name%3Ddoomed&timeoutSeconds=30", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await watch.Content.ReadAsStreamAsync());
        var deleting = await _client.DeleteAsync("/api/v1/namespaces/doomed");
        Assert.True(deleting.IsSuccessStatusCode);
        string? line;
        var sawDeleted = false;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            if (JsonNode.Parse(line)!["type"]!.GetValue<string>() == "DELETED")
            {
                sawDeleted = true;
                break;
            }
        }

        Assert.True(sawDeleted);
        await Api.StatusOf(await _client.GetAsync("/api/v1/namespaces/doomed/configmaps/inside"), 404);
    }
}
