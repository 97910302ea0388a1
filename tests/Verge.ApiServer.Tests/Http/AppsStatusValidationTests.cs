using System.Net;
using System.Text.Json.Nodes;

namespace Verge.ApiServer.Tests.Http;

/// <summary>
/// Writes to the <c>status</c> of Deployments, ReplicaSets and DaemonSets are checked as Kubernetes' status strategies
/// check them (ValidateDeploymentStatusUpdate, ValidateReplicaSetStatusUpdate, ValidateDaemonSetStatusUpdate): a bad
/// count is a 422 naming each field, and the stored object stays as it was.
/// </summary>
public sealed class AppsStatusValidationTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private readonly HttpClient _client = server.AdminClient();

    private static string Workload(string kind, string name) =>
        """{"apiVersion":"apps/v1","kind":""" + $"\"{kind}\"" + ""","metadata":{"name":""" + $"\"{name}\"" +
        """},"spec":{"selector":{"matchLabels":{"app":"s"}},"template":{"metadata":{"labels":{"app":"s"}},"spec":{"containers":[{"name":"c","image":"img:1"}]}}}}""";

    private async Task<string> CreateAsync(string kind, string plural, string name)
    {
        var created = await _client.PostAsync($"/apis/apps/v1/namespaces/default/{plural}", Api.Json(Workload(kind, name)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return $"/apis/apps/v1/namespaces/default/{plural}/{name}";
    }

    private Task<HttpResponseMessage> PatchStatusAsync(string path, string status) =>
        _client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, path + "/status")
        {
            Content = Api.Json("""{"status":""" + status + "}", "application/merge-patch+json"),
        });

    private static async Task<List<string>> InvalidCausesAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var status = await response.ReadObjectAsync();
        Assert.Equal("Status", status["kind"]!.GetValue<string>());
        Assert.Equal("Invalid", status["reason"]!.GetValue<string>());
        return status["details"]!["causes"]!.AsArray()
            .Select(c => $"{c!["field"]!.GetValue<string>()}: {c["message"]!.GetValue<string>()}")
            .ToList();
    }

    private async Task<string> ResourceVersionAsync(string path) =>
        (await (await _client.GetAsync(path)).ReadObjectAsync())["metadata"]!["resourceVersion"]!.GetValue<string>();

    [Fact]
    public async Task DeploymentStatus_WithNegativeOrInconsistentCounts_Is422WithKubernetesFieldErrors()
    {
        var path = await CreateAsync("Deployment", "deployments", "sv-deploy");
        var before = await ResourceVersionAsync(path);

        var response = await PatchStatusAsync(path,
            """{"observedGeneration":-1,"replicas":2,"updatedReplicas":-1,"readyReplicas":3,"availableReplicas":4,"unavailableReplicas":-2}""");

        Assert.Equal(
        [
            "status.observedGeneration: Invalid value: -1: must be greater than or equal to 0",
            "status.updatedReplicas: Invalid value: -1: must be greater than or equal to 0",
            "status.unavailableReplicas: Invalid value: -2: must be greater than or equal to 0",
            "status.readyReplicas: Invalid value: 3: cannot be greater than status.replicas",
            "status.availableReplicas: Invalid value: 4: cannot be greater than status.replicas",
            "status.availableReplicas: Invalid value: 4: cannot be greater than readyReplicas",
        ], await InvalidCausesAsync(response));
        Assert.Equal(before, await ResourceVersionAsync(path));
    }

    [Fact]
    public async Task DeploymentStatus_CollisionCountMayGrowButNotShrink_ByPatchOrPut()
    {
        var path = await CreateAsync("Deployment", "deployments", "sv-collide");
        Assert.Equal(HttpStatusCode.OK, (await PatchStatusAsync(path, """{"collisionCount":2}""")).StatusCode);

        Assert.Equal(["status.collisionCount: Invalid value: 1: cannot be decremented"],
            await InvalidCausesAsync(await PatchStatusAsync(path, """{"collisionCount":1}""")));

        // A PUT that leaves it out clears it, which counts as going down to 0.
        var stored = await (await _client.GetAsync(path)).ReadObjectAsync();
        stored["status"]!.AsObject().Remove("collisionCount");
        var put = await _client.PutAsync(path + "/status", Api.Json(stored.ToJsonString()));
        Assert.Equal(["status.collisionCount: Invalid value: 0: cannot be decremented"], await InvalidCausesAsync(put));

        stored["status"]!["collisionCount"] = 3;
        Assert.Equal(HttpStatusCode.OK, (await _client.PutAsync(path + "/status", Api.Json(stored.ToJsonString()))).StatusCode);
    }

    [Fact]
    public async Task ReplicaSetStatus_WithNegativeOrInconsistentCounts_Is422WithKubernetesFieldErrors()
    {
        var path = await CreateAsync("ReplicaSet", "replicasets", "sv-rs");
        var before = await ResourceVersionAsync(path);

        var response = await PatchStatusAsync(path,
            """{"replicas":1,"fullyLabeledReplicas":2,"readyReplicas":-1,"availableReplicas":1,"observedGeneration":-5}""");

        Assert.Equal(
        [
            "status.readyReplicas: Invalid value: -1: must be greater than or equal to 0",
            "status.observedGeneration: Invalid value: -5: must be greater than or equal to 0",
            "status.fullyLabeledReplicas: Invalid value: 2: cannot be greater than status.replicas",
            "status.availableReplicas: Invalid value: 1: cannot be greater than readyReplicas",
        ], await InvalidCausesAsync(response));
        Assert.Equal(before, await ResourceVersionAsync(path));

        Assert.Equal(HttpStatusCode.OK, (await PatchStatusAsync(path, """{"replicas":1,"readyReplicas":1,"availableReplicas":1}""")).StatusCode);
    }

    [Fact]
    public async Task DaemonSetStatus_WithNegativeCountsOrAShrinkingCollisionCount_Is422WithKubernetesFieldErrors()
    {
        var path = await CreateAsync("DaemonSet", "daemonsets", "sv-ds");
        Assert.Equal(HttpStatusCode.OK, (await PatchStatusAsync(path,
            """{"currentNumberScheduled":1,"desiredNumberScheduled":1,"numberMisscheduled":0,"numberReady":1,"collisionCount":1}""")).StatusCode);
        var before = await ResourceVersionAsync(path);

        var response = await PatchStatusAsync(path,
            """{"numberReady":-1,"observedGeneration":-1,"numberUnavailable":-3,"collisionCount":null}""");

        Assert.Equal(
        [
            "status.numberReady: Invalid value: -1: must be greater than or equal to 0",
            "status.observedGeneration: Invalid value: -1: must be greater than or equal to 0",
            "status.numberUnavailable: Invalid value: -3: must be greater than or equal to 0",
            "status.collisionCount: Invalid value: 0: cannot be decremented",
        ], await InvalidCausesAsync(response));
        Assert.Equal(before, await ResourceVersionAsync(path));
    }
}
