using System.Net;
using System.Text.Json.Nodes;
using Verge.ApiServer.Tests.Protobuf;

namespace Verge.ApiServer.Tests.Http;

/// <summary>
/// What users see of the write paths the server takes without JSON trees or copies: status writes, merge patches on
/// the typed object, bindings, and the spec comparison that decides generation.
/// </summary>
public sealed class WritePathTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private readonly HttpClient _client = server.AdminClient();

    private static string Deployment(string name, string labels) =>
        """{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":""" + $"\"{name}\"" +
        """},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"w"}},"template":{"metadata":{"labels":""" + labels +
        """},"spec":{"containers":[{"name":"c","image":"img:1"}]}}}}""";

    private Task<HttpResponseMessage> PatchAsync(string path, string body, string type = "application/merge-patch+json") =>
        _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, path) { Content = Api.Json(body, type) });

    [Fact]
    public async Task StatusWrites_ByPatchAndByPut_KeepTheStoredManagedFields()
    {
        const string path = "/apis/apps/v1/namespaces/default/deployments/wp-status";
        var created = await (await _client.PostAsync("/apis/apps/v1/namespaces/default/deployments?fieldManager=creator",
            Api.Json(Deployment("wp-status", """{"app":"w"}""")))).ReadObjectAsync();
        var fields = created["metadata"]!["managedFields"]!.DeepClone();
        Assert.Equal("creator", fields[0]!["manager"]!.GetValue<string>());

        var patched = await (await PatchAsync(path + "/status?fieldManager=reporter", """{"status":{"replicas":1,"readyReplicas":1}}""")).ReadObjectAsync();
        Assert.Equal(1, patched["status"]!["readyReplicas"]!.GetValue<int>());
        Assert.True(JsonNode.DeepEquals(fields, patched["metadata"]!["managedFields"]));

        patched["status"]!["readyReplicas"] = 0;
        var put = await _client.PutAsync(path + "/status?fieldManager=writer", Api.Json(patched.ToJsonString()));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var replaced = await put.ReadObjectAsync();
        Assert.Equal(0, replaced["status"]!["readyReplicas"]!.GetValue<int>());
        Assert.True(JsonNode.DeepEquals(fields, replaced["metadata"]!["managedFields"]));
        Assert.NotEqual(patched["metadata"]!["resourceVersion"]!.GetValue<string>(), replaced["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    [Fact]
    public async Task EmptyOwnerReferencesFinalizersLabelsAndAnnotations_AreStoredAsAbsent_AsKubernetesOmitsThem()
    {
        const string path = "/api/v1/namespaces/default/configmaps/wp-empty";
        var created = await (await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json(
            """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"wp-empty","labels":{},"annotations":{},"finalizers":[],"ownerReferences":[]}}"""))).ReadObjectAsync();
        foreach (var field in new[] { "labels", "annotations", "finalizers", "ownerReferences" })
        {
            Assert.False(created["metadata"]!.AsObject().ContainsKey(field), field);
        }

        // A garbage collector that removes the last owner (by a merge patch that sets the list empty) leaves no [].
        var owner = """{"apiVersion":"v1","kind":"ConfigMap","name":"gone","uid":"3f1c0b5e-0000-4000-8000-000000000001"}""";
        var owned = await (await PatchAsync(path, """{"metadata":{"ownerReferences":[""" + owner + "]}}")).ReadObjectAsync();
        Assert.Single(owned["metadata"]!["ownerReferences"]!.AsArray());
        var released = await (await PatchAsync(path, """{"metadata":{"ownerReferences":[],"labels":{"a":null}}}""")).ReadObjectAsync();
        Assert.False(released["metadata"]!.AsObject().ContainsKey("ownerReferences"));
        Assert.False(released["metadata"]!.AsObject().ContainsKey("labels"));
        var read = await (await _client.GetAsync(path)).ReadObjectAsync();
        Assert.False(read["metadata"]!.AsObject().ContainsKey("ownerReferences"));
    }

    [Fact]
    public async Task LeaseRenewal_ByMergePatch_AnswersWithTheObjectAGetThenReturns_AndMovesOnlyItsOwnEntrysTime()
    {
        const string leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
        var created = await (await _client.PostAsync(leases + "?fieldManager=node", Api.Json(
            """{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"wp-renew"},"spec":{"holderIdentity":"wp-renew","leaseDurationSeconds":4,"renewTime":"2026-03-01T10:00:00.000000Z"}}"""))).ReadObjectAsync();

        var renewal = await PatchAsync(leases + "/wp-renew?fieldManager=node", """{"spec":{"holderIdentity":"wp-renew","leaseDurationSeconds":4,"renewTime":"2026-03-01T10:00:01.250000Z"}}""");
        Assert.Equal(HttpStatusCode.OK, renewal.StatusCode);
        var renewed = JsonNode.Parse(await renewal.Content.ReadAsStringAsync())!;
        var read = JsonNode.Parse(await _client.GetStringAsync(leases + "/wp-renew"))!;

        Assert.True(JsonNode.DeepEquals(read, renewed));
        Assert.Equal("2026-03-01T10:00:01.250000Z", renewed["spec"]!["renewTime"]!.GetValue<string>());
        Assert.NotEqual(created["metadata"]!["resourceVersion"]!.GetValue<string>(), renewed["metadata"]!["resourceVersion"]!.GetValue<string>());
        var entry = Assert.Single(renewed["metadata"]!["managedFields"]!.AsArray())!;
        Assert.Equal("node", entry["manager"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(created["metadata"]!["managedFields"]![0]!["fieldsV1"], entry["fieldsV1"]));

        // The same renewal again changes nothing and keeps the resourceVersion, as Kubernetes does.
        var again = await (await PatchAsync(leases + "/wp-renew?fieldManager=node", """{"spec":{"renewTime":"2026-03-01T10:00:01.250000Z"}}""")).ReadObjectAsync();
        Assert.True(JsonNode.DeepEquals(read, again));
    }

    [Fact]
    public async Task MergePatch_OfTheMainResource_RecordsThePatchersFieldsAgainstTheStoredObject()
    {
        const string path = "/apis/apps/v1/namespaces/default/deployments/wp-merge";
        await _client.PostAsync("/apis/apps/v1/namespaces/default/deployments?fieldManager=creator", Api.Json(Deployment("wp-merge", """{"app":"w"}""")));

        var patched = await (await PatchAsync(path + "?fieldManager=scaler", """{"spec":{"replicas":4}}""")).ReadObjectAsync();

        var entries = patched["metadata"]!["managedFields"]!.AsArray();
        var scaler = entries.Single(e => e!["manager"]!.GetValue<string>() == "scaler")!;
        Assert.NotNull(scaler["fieldsV1"]!["f:spec"]!["f:replicas"]);
        var creator = entries.Single(e => e!["manager"]!.GetValue<string>() == "creator")!;
        Assert.Null(creator["fieldsV1"]!["f:spec"]!["f:replicas"]);
        Assert.Equal(2, patched["metadata"]!["generation"]!.GetValue<long>());
    }

    [Fact]
    public async Task Replace_WithAMapOnlyReordered_KeepsGeneration_AndAChangedValueBumpsIt()
    {
        const string path = "/apis/apps/v1/namespaces/default/deployments/wp-order";
        var created = await (await _client.PostAsync("/apis/apps/v1/namespaces/default/deployments",
            Api.Json(Deployment("wp-order", """{"app":"w","tier":"edge"}""")))).ReadObjectAsync();
        Assert.Equal(1, created["metadata"]!["generation"]!.GetValue<long>());

        var reordered = await (await _client.PutAsync(path, Api.Json(Deployment("wp-order", """{"tier":"edge","app":"w"}""")))).ReadObjectAsync();
        Assert.Equal(1, reordered["metadata"]!["generation"]!.GetValue<long>());

        var changed = await (await _client.PutAsync(path, Api.Json(Deployment("wp-order", """{"tier":"core","app":"w"}""")))).ReadObjectAsync();
        Assert.Equal(2, changed["metadata"]!["generation"]!.GetValue<long>());
        Assert.Equal("core", changed["spec"]!["template"]!["metadata"]!["labels"]!["tier"]!.GetValue<string>());
    }

    [Fact]
    public async Task Binding_ToAnotherKindThanNode_Is422_AndADryRunChecksButBindsNothing()
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"wp-bind-dry"},"spec":{"containers":[{"name":"c","image":"img:1"}]}}""";
        await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod));
        const string path = "/api/v1/namespaces/default/pods/wp-bind-dry/binding";

        var wrongKind = await Api.StatusOf(await _client.PostAsync(path,
            Api.Json("""{"apiVersion":"v1","kind":"Binding","metadata":{"name":"wp-bind-dry"},"target":{"kind":"Pod","name":"n1"}}""")), 422);
        Assert.Equal("target.kind", wrongKind["details"]!["causes"]![0]!["field"]!.GetValue<string>());

        var binding = """{"apiVersion":"v1","kind":"Binding","metadata":{"name":"wp-bind-dry"},"target":{"kind":"Node","name":"n1"}}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync(path + "?dryRun=All", Api.Json(binding))).StatusCode);
        var after = await (await _client.GetAsync("/api/v1/namespaces/default/pods/wp-bind-dry")).ReadObjectAsync();
        Assert.Null(after["spec"]!["nodeName"]);

        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync(path, Api.Json(binding))).StatusCode);
        await Api.StatusOf(await _client.PostAsync(path + "?dryRun=All", Api.Json(binding)), 409);
        await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/pods/wp-no-such-pod/binding",
            Api.Json(binding.Replace("wp-bind-dry", "wp-no-such-pod", StringComparison.Ordinal))), 404);
    }

    [Theory]
    [InlineData("""{"kind":"Binding","metadata":{"name":"wp-bind-bad"},"target":"n1"}""", "target must be an object")]
    [InlineData("""{"kind":"Binding","metadata":"x","target":{"name":"n1"}}""", "metadata must be an object")]
    [InlineData("""{"kind":"Binding","metadata":{"name":"wp-bind-bad"},"target":{"name":5}}""", "name must be a string")]
    [InlineData("""{"kind":"Binding","metadata":{"name":"wp-bind-bad","uid":5},"target":{"name":"n1"}}""", "uid must be a string")]
    [InlineData("""{"kind":"Binding","metadata":{"name":"other"},"target":{"name":"n1"}}""", "name in URL does not match name in Binding object")]
    [InlineData("""{"kind":"Binding","target":{"name":"n1"}}""", "name in URL does not match name in Binding object")]
    [InlineData("""{"kind":"Pod","metadata":{"name":"wp-bind-bad"},"target":{"name":"n1"}}""", "not a v1 Binding")]
    public async Task Binding_WhoseBodyIsMalformed_Is400_AndBindsNothing(string body, string message)
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"wp-bind-bad"},"spec":{"containers":[{"name":"c","image":"img:1"}]}}""";
        await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod));

        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/pods/wp-bind-bad/binding", Api.Json(body)), 400);

        Assert.Contains(message, status["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var after = await (await _client.GetAsync("/api/v1/namespaces/default/pods/wp-bind-bad")).ReadObjectAsync();
        Assert.Null(after["spec"]!["nodeName"]);
    }

    [Fact]
    public async Task Eviction_DeletesThePod_AndAnswers201Success_ADryRunDeletesNothing()
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"wp-evict"},"spec":{"containers":[{"name":"c","image":"img:1"}]}}""";
        await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod));
        const string path = "/api/v1/namespaces/default/pods/wp-evict/eviction";
        var eviction = """{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"wp-evict","namespace":"default"}}""";

        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync(path + "?dryRun=All", Api.Json(eviction))).StatusCode);
        var dryRunInBody = eviction.Replace("}}", "},\"deleteOptions\":{\"dryRun\":[\"All\"]}}", StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync(path, Api.Json(dryRunInBody))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/api/v1/namespaces/default/pods/wp-evict")).StatusCode);

        var evicted = await _client.PostAsync(path, Api.Json(eviction));
        Assert.Equal(HttpStatusCode.Created, evicted.StatusCode);
        var status = await evicted.ReadObjectAsync();
        Assert.Equal(("Status", "Success"), (status["kind"]!.GetValue<string>(), status["status"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/api/v1/namespaces/default/pods/wp-evict")).StatusCode);
        await Api.StatusOf(await _client.PostAsync(path, Api.Json(eviction)), 404);
    }

    [Fact]
    public async Task Eviction_AndDelete_TakeDeleteOptionsInProtobuf_AsKubectlSendsThem()
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"wp-evict-pb"},"spec":{"containers":[{"name":"c","image":"img:1"}]}}""";
        await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod));
        const string podPath = "/api/v1/namespaces/default/pods/wp-evict-pb";

        // DeleteOptions {5: dryRun ["All"]}, encoded with the apiVersion of the deleted resource, as client-go does.
        var dryRunDelete = ProtoWriter.Body("v1", "DeleteOptions", o => o.String(5, "All"));
        using (var delete = new HttpRequestMessage(HttpMethod.Delete, podPath) { Content = AsProtobuf(dryRunDelete) })
        {
            Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(delete)).StatusCode);
        }

        var dryRunEviction = ProtoWriter.Body("policy/v1", "Eviction", e => e
            .Message(1, m => m.String(1, "wp-evict-pb").String(3, "default"))
            .Message(2, o => o.String(5, "All")));
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync(podPath + "/eviction", AsProtobuf(dryRunEviction))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(podPath)).StatusCode);

        var eviction = ProtoWriter.Body("policy/v1", "Eviction", e => e
            .Message(1, m => m.String(1, "wp-evict-pb").String(3, "default"))
            .Message(2, o => o.Int(1, 0)));
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync(podPath + "/eviction", AsProtobuf(eviction))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync(podPath)).StatusCode);

        static ByteArrayContent AsProtobuf(byte[] body)
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/vnd.kubernetes.protobuf");
            return content;
        }
    }

    [Theory]
    [InlineData("""{"kind":"Eviction","metadata":{"name":"other"}}""", "name in URL does not match name in Eviction object")]
    [InlineData("""{"kind":"Eviction"}""", "name in URL does not match name in Eviction object")]
    [InlineData("""{"kind":"Eviction","metadata":{"name":"wp-evict-bad","namespace":"kube-system"}}""", "does not match the namespace sent on the request")]
    [InlineData("""{"kind":"Binding","metadata":{"name":"wp-evict-bad"}}""", "not a policy/v1 Eviction")]
    [InlineData("""{"kind":"Eviction","metadata":{"name":"wp-evict-bad"},"deleteOptions":5}""", "deleteOptions must be an object")]
    [InlineData("""{"kind":"Eviction","metadata":{"name":"wp-evict-bad"},"deleteOptions":{"gracePeriodSeconds":"x"}}""", "gracePeriodSeconds has the wrong type")]
    [InlineData("""{"kind":"Eviction","metadata":{"name":"wp-evict-bad"},"deleteOptions":{"dryRun":["Bogus"]}}""", "Invalid dry run value: Bogus")]
    [InlineData("[]", "an Eviction object is required")]
    public async Task Eviction_WhoseBodyIsMalformed_Is400_AndDeletesNothing(string body, string message)
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"wp-evict-bad"},"spec":{"containers":[{"name":"c","image":"img:1"}]}}""";
        await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod));

        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/pods/wp-evict-bad/eviction", Api.Json(body)), 400);

        Assert.Contains(message, status["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/api/v1/namespaces/default/pods/wp-evict-bad")).StatusCode);
    }

    [Fact]
    public async Task Put_OfAMissingObject_CreatesOnlyKindsThatAllowIt()
    {
        var configMap = await Api.StatusOf(await _client.PutAsync("/api/v1/namespaces/default/configmaps/wp-put-new",
            Api.Json("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"wp-put-new"}}""")), 404);
        Assert.Equal("NotFound", configMap["reason"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/api/v1/namespaces/default/configmaps/wp-put-new")).StatusCode);

        var lease = await _client.PutAsync("/apis/coordination.k8s.io/v1/namespaces/default/leases/wp-put-new",
            Api.Json("""{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"wp-put-new"},"spec":{"holderIdentity":"a"}}"""));
        Assert.Equal(HttpStatusCode.Created, lease.StatusCode);
    }

    [Theory]
    [InlineData("?dryRun=true")]
    [InlineData("?dryRun=all")]
    [InlineData("?gracePeriodSeconds=abc")]
    public async Task Delete_WithAnInvalidQueryParameter_Is400_AndDeletesNothing(string query)
    {
        const string path = "/api/v1/namespaces/default/configmaps/wp-delete-bad";
        await _client.PostAsync("/api/v1/namespaces/default/configmaps", Api.Json("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"wp-delete-bad"}}"""));

        await Api.StatusOf(await _client.DeleteAsync(path + query), 400);
        await Api.StatusOf(await _client.DeleteAsync("/api/v1/namespaces/default/configmaps" + query), 400);
        using var bogusBody = new HttpRequestMessage(HttpMethod.Delete, path) { Content = Api.Json("""{"kind":"DeleteOptions","dryRun":["Bogus"]}""") };
        await Api.StatusOf(await _client.SendAsync(bogusBody), 400);
        using var wrongType = new HttpRequestMessage(HttpMethod.Delete, path) { Content = Api.Json("""{"kind":"DeleteOptions","gracePeriodSeconds":"x"}""") };
        var typed = await Api.StatusOf(await _client.SendAsync(wrongType), 400);

        Assert.DoesNotContain("System.", typed["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task Binding_SetsOnlyNodeName_KeepingStatusAndTheRestOfThePod()
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"wp-bind","labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"img:1"}]}}""";
        var created = await (await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod))).ReadObjectAsync();
        var binding = """{"apiVersion":"v1","kind":"Binding","metadata":{"name":"wp-bind"},"target":{"kind":"Node","name":"n2"}}""";

        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/namespaces/default/pods/wp-bind/binding", Api.Json(binding))).StatusCode);

        var bound = await (await _client.GetAsync("/api/v1/namespaces/default/pods/wp-bind")).ReadObjectAsync();
        Assert.Equal("n2", bound["spec"]!["nodeName"]!.GetValue<string>());

        // As Kubernetes' binding: PodScheduled True is the one change to the status; no validation, no new
        // managedFields entry, no new generation (a storage-level write).
        var conditions = bound["status"]!["conditions"]!.AsArray();
        var scheduled = Assert.Single(conditions);
        Assert.Equal("PodScheduled", scheduled!["type"]!.GetValue<string>());
        Assert.Equal("True", scheduled["status"]!.GetValue<string>());
        bound["status"]!.AsObject().Remove("conditions");
        Assert.True(JsonNode.DeepEquals(created["status"], bound["status"]));
        Assert.True(JsonNode.DeepEquals(created["metadata"]!["labels"], bound["metadata"]!["labels"]));
        Assert.True(JsonNode.DeepEquals(created["metadata"]!["managedFields"], bound["metadata"]!["managedFields"]));
        Assert.True(JsonNode.DeepEquals(created["metadata"]!["generation"], bound["metadata"]!["generation"]));
        bound["spec"]!.AsObject().Remove("nodeName");
        Assert.True(JsonNode.DeepEquals(created["spec"], bound["spec"]));
        Assert.NotEqual(created["metadata"]!["resourceVersion"]!.GetValue<string>(), bound["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    [Fact]
    public async Task StatusPatch_WithHostIPs_KeepsThemWithoutAWarning()
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"wp-hostips"},"spec":{"containers":[{"name":"c","image":"img:1"}]}}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod))).StatusCode);

        var patched = await PatchAsync("/api/v1/namespaces/default/pods/wp-hostips/status",
            """{"status":{"phase":"Running","hostIP":"10.0.0.1","hostIPs":[{"ip":"10.0.0.1"},{"ip":"fd00::1"}]}}""");

        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.False(patched.Headers.Contains("Warning"));
        var stored = await patched.ReadObjectAsync();
        Assert.Equal(["10.0.0.1", "fd00::1"], stored["status"]!["hostIPs"]!.AsArray().Select(h => h!["ip"]!.GetValue<string>()));
    }

    [Fact]
    public async Task StatusPatch_WithAnInvalidPodIp_IsRefusedWith422_AndTheStoredPodStaysAsItWas()
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"wp-badip"},"spec":{"containers":[{"name":"c","image":"img:1"}]}}""";
        var created = await (await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod))).ReadObjectAsync();

        var patched = await PatchAsync("/api/v1/namespaces/default/pods/wp-badip/status",
            """{"status":{"phase":"Running","podIP":"10.0.0.300","podIPs":[{"ip":"10.0.0.300"}],"conditions":[{"type":"bad type!","status":"True"}]}}""");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, patched.StatusCode);
        var status = await patched.ReadObjectAsync();
        Assert.Equal("Status", status["kind"]!.GetValue<string>());
        Assert.Equal("Invalid", status["reason"]!.GetValue<string>());
        var fields = status["details"]!["causes"]!.AsArray().Select(c => c!["field"]!.GetValue<string>()).ToList();
        Assert.Equal(["status.conditions[0].type", "status.podIPs[0].ip"], fields);
        var stored = await (await _client.GetAsync("/api/v1/namespaces/default/pods/wp-badip")).ReadObjectAsync();
        Assert.Equal(created["metadata"]!["resourceVersion"]!.GetValue<string>(), stored["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    [Fact]
    public async Task StatusPatch_WithAFieldVergeDoesNotKeep_WarnsAsTheStrategicMergePathDoes_AndStrictRefusesIt()
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"wp-unknown"},"spec":{"containers":[{"name":"c","image":"img:1"}]}}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod))).StatusCode);
        const string path = "/api/v1/namespaces/default/pods/wp-unknown/status";
        const string report = """{"status":{"phase":"Running","resize":"InProgress","hostIP":"10.0.0.1"}}""";

        var merged = await PatchAsync(path, report);
        var strategic = await PatchAsync(path, report, "application/strategic-merge-patch+json");

        Assert.Equal(HttpStatusCode.OK, merged.StatusCode);
        Assert.Equal(HttpStatusCode.OK, strategic.StatusCode);
        Assert.Equal(["299 - \"unknown field \\\"status.resize\\\"\""], merged.Headers.GetValues("Warning"));
        Assert.Equal(strategic.Headers.GetValues("Warning"), merged.Headers.GetValues("Warning"));
        var stored = await merged.ReadObjectAsync();
        Assert.Equal("Running", stored["status"]!["phase"]!.GetValue<string>());
        Assert.Null(stored["status"]!["resize"]);
        Assert.Equal(HttpStatusCode.BadRequest, (await PatchAsync(path + "?fieldValidation=Strict", report)).StatusCode);
        var ignored = await PatchAsync(path + "?fieldValidation=Ignore", report);
        Assert.Equal(HttpStatusCode.OK, ignored.StatusCode);
        Assert.False(ignored.Headers.Contains("Warning"));
    }

    [Fact]
    public async Task Binding_OfAPodBeingDeleted_Conflicts()
    {
        var pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"wp-bind-gone","finalizers":["verge.dev/hold"]},"spec":{"containers":[{"name":"c","image":"img:1"}]}}""";
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/namespaces/default/pods", Api.Json(pod))).StatusCode);
        await _client.DeleteAsync("/api/v1/namespaces/default/pods/wp-bind-gone");
        var binding = """{"apiVersion":"v1","kind":"Binding","metadata":{"name":"wp-bind-gone"},"target":{"kind":"Node","name":"n1"}}""";

        var status = await Api.StatusOf(await _client.PostAsync("/api/v1/namespaces/default/pods/wp-bind-gone/binding", Api.Json(binding)), 409);

        Assert.Contains("pod is being deleted", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await PatchAsync("/api/v1/namespaces/default/pods/wp-bind-gone", """{"metadata":{"finalizers":null}}""");
    }
}
