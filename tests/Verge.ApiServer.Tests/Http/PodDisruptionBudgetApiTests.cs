using System.Net;

namespace Verge.ApiServer.Tests.Http;

/// <summary>policy/v1 PodDisruptionBudgets through the REST surface: validation, the status a create resets, and the table kubectl shows.</summary>
public sealed class PodDisruptionBudgetApiTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    private const string Budgets = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";

    private readonly HttpClient _client = server.AdminClient();

    [Fact]
    public async Task Create_WithBothMinAvailableAndMaxUnavailable_Is422WithOneCausePerField()
    {
        var pdb = """{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"both"},"spec":{"minAvailable":1,"maxUnavailable":"120%","selector":{"matchLabels":{"app":"x"}}}}""";

        var status = await Api.StatusOf(await _client.PostAsync(Budgets, Api.Json(pdb)), 422);

        Assert.Equal("Invalid", status["reason"]!.GetValue<string>());
        Assert.StartsWith("PodDisruptionBudget.policy \"both\" is invalid: [spec: Invalid value: ", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var causes = status["details"]!["causes"]!.AsArray().Select(c => (c!["field"]!.GetValue<string>(), c["reason"]!.GetValue<string>())).ToList();
        Assert.Equal([("spec", "FieldValueInvalid"), ("spec.maxUnavailable", "FieldValueInvalid")], causes);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync(Budgets + "/both")).StatusCode);
    }

    [Fact]
    public async Task Create_ResetsTheStatus_AndTheTableShowsKubectlsColumns()
    {
        var pdb = """{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"shown"},"spec":{"minAvailable":"50%","selector":{"matchLabels":{"app":"x"}}},"status":{"disruptionsAllowed":5}}""";
        var created = await (await _client.PostAsync(Budgets, Api.Json(pdb))).ReadObjectAsync();
        Assert.Equal(0, created["status"]!["disruptionsAllowed"]!.GetValue<int>());
        Assert.Equal(1, created["metadata"]!["generation"]!.GetValue<int>());

        var request = new HttpRequestMessage(HttpMethod.Get, Budgets + "/shown");
        request.Headers.Accept.ParseAdd("application/json;as=Table;v=v1;g=meta.k8s.io");
        var table = await (await _client.SendAsync(request)).ReadObjectAsync();

        var columns = table["columnDefinitions"]!.AsArray().Select(c => c!["name"]!.GetValue<string>());
        Assert.Equal(["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"], columns);
        var cells = table["rows"]![0]!["cells"]!.AsArray();
        Assert.Equal(("shown", "50%", "N/A", 0), (cells[0]!.GetValue<string>(), cells[1]!.GetValue<string>(), cells[2]!.GetValue<string>(), cells[3]!.GetValue<int>()));
    }
}
