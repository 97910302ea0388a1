using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Verge.ApiServer.Security;

namespace Verge.ApiServer.Tests.Nodes;

/// <summary>
/// Nodes reach only what their own pods need: checked through real HTTPS with node client certificates. Node
/// "edge-a" runs pod "pa" (which uses secret "sa", configmap "ca" and more); node "edge-b" runs pod "pb" (secret "sb").
/// </summary>
public sealed class NodeAuthorizationTests : IClassFixture<NodeAuthorizationTests.Cluster>
{
    private readonly Cluster _cluster;
    private readonly HttpClient _a;

    public NodeAuthorizationTests(Cluster cluster)
    {
        _cluster = cluster;
        _a = cluster.NodeA;
    }

    private const string Ns = "nodeauth";

    /// <summary>The server with the objects of the scenario, and a client per node.</summary>
    public sealed class Cluster : ApiServerFixture, IAsyncLifetime
    {
        public HttpClient NodeA { get; private set; } = null!;

        public HttpClient NodeB { get; private set; } = null!;

        public new async Task InitializeAsync()
        {
            await base.InitializeAsync();
            NodeA = NodeClient("edge-a");
            NodeB = NodeClient("edge-b");
            var admin = AdminClient();
            await CreateAsync(admin, "/api/v1/namespaces", """{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"nodeauth"}}""");
            foreach (var name in new[] { "sa", "s-env", "s-pull", "sb", "s-unused" })
            {
                await CreateAsync(admin, $"/api/v1/namespaces/{Ns}/secrets", $$$"""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"{{{name}}}"},"stringData":{"k":"v"}}""");
            }

            foreach (var name in new[] { "ca", "c-envfrom", "c-init", "cb" })
            {
                await CreateAsync(admin, $"/api/v1/namespaces/{Ns}/configmaps", Api.ConfigMap(name));
            }

            await CreateAsync(admin, $"/api/v1/namespaces/{Ns}/pods", """
                {"apiVersion":"v1","kind":"Pod","metadata":{"name":"pa"},"spec":{"nodeName":"edge-a",
                 "imagePullSecrets":[{"name":"s-pull"}],
                 "volumes":[{"name":"v1","secret":{"secretName":"sa"}},{"name":"v2","configMap":{"name":"ca"}}],
                 "initContainers":[{"name":"init","image":"busybox","envFrom":[{"configMapRef":{"name":"c-init"}}]}],
                 "containers":[{"name":"app","image":"busybox",
                   "env":[{"name":"X","valueFrom":{"secretKeyRef":{"name":"s-env","key":"k"}}}],
                   "envFrom":[{"configMapRef":{"name":"c-envfrom"}}]}]}}
                """);
            await CreateAsync(admin, $"/api/v1/namespaces/{Ns}/pods", """
                {"apiVersion":"v1","kind":"Pod","metadata":{"name":"pb"},"spec":{"nodeName":"edge-b",
                 "volumes":[{"name":"v1","secret":{"secretName":"sb"}},{"name":"v2","configMap":{"name":"cb"}}],
                 "containers":[{"name":"app","image":"busybox"}]}}
                """);
            await CreateAsync(admin, "/api/v1/nodes", """{"apiVersion":"v1","kind":"Node","metadata":{"name":"edge-b"}}""");
        }

        private HttpClient NodeClient(string node)
        {
            var ca = Host.Services.GetRequiredService<CertificateAuthority>();
            var (cert, key) = ca.IssueClient("system:node:" + node, ["system:nodes"], TimeSpan.FromHours(1));
            return ClientWith(this, X509Certificate2.CreateFromPem(cert, key));
        }

        private static async Task CreateAsync(HttpClient client, string path, string json)
        {
            using var response = await client.PostAsync(path, Api.Json(json));
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>An HttpClient that trusts the cluster CA and presents <paramref name="certificate"/>.</summary>
    internal static HttpClient ClientWith(ApiServerFixture server, X509Certificate2 certificate)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(server.DataDir, "pki", "ca.crt")));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, serverCert, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return serverCert is X509Certificate2 c && chain.Build(c);
        };
        handler.SslOptions.ClientCertificates = [certificate];
        var client = new HttpClient(handler) { BaseAddress = server.Address };
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client;
    }

    private async Task<HttpStatusCode> CodeAsync(HttpMethod method, string path, string? body = null, string mediaType = "application/json", HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = Api.Json(body, mediaType);
        }

        using var response = await (client ?? _a).SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return response.StatusCode;
    }

    [Fact]
    public async Task Get_OwnPod_IsAllowed_OtherNodesPod_IsForbidden()
    {
        Assert.Equal(HttpStatusCode.OK, await CodeAsync(HttpMethod.Get, $"/api/v1/namespaces/{Ns}/pods/pa"));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Get, $"/api/v1/namespaces/{Ns}/pods/pb"));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Get, $"/api/v1/namespaces/{Ns}/pods/missing"));
        Assert.Equal(HttpStatusCode.OK, await CodeAsync(HttpMethod.Get, $"/api/v1/namespaces/{Ns}/pods/pb", client: _cluster.NodeB));
    }

    [Fact]
    public async Task List_PodsSelectedByOwnNodeName_ReturnsOnlyOwnPods()
    {
        using var response = await _a.GetAsync("/api/v1/pods?fieldSelector=spec.nodeName%3Dedge-a");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var items = (await response.ReadObjectAsync())["items"]!.AsArray();
        Assert.Equal(["pa"], items.Select(i => i!["metadata"]!["name"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("/api/v1/pods")]
    [InlineData("/api/v1/pods?fieldSelector=spec.nodeName%3Dedge-b")]
    [InlineData("/api/v1/pods?fieldSelector=spec.nodeName!%3Dedge-a")]
    [InlineData("/api/v1/namespaces/nodeauth/pods")]
    [InlineData("/api/v1/pods?watch=true")]
    public async Task List_PodsWithoutOwnNodeSelector_IsForbidden(string path)
    {
        var status = await Api.StatusOf(await _a.GetAsync(path), 403);

        Assert.Equal("Forbidden", status["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Watch_PodsSelectedByOwnNodeName_IsAllowed()
    {
        Assert.Equal(HttpStatusCode.OK, await CodeAsync(HttpMethod.Get, "/api/v1/namespaces/nodeauth/pods?watch=true&timeoutSeconds=1&fieldSelector=spec.nodeName%3Dedge-a"));
    }

    [Theory]
    [InlineData("secrets", "sa")]
    [InlineData("secrets", "s-env")]
    [InlineData("secrets", "s-pull")]
    [InlineData("configmaps", "ca")]
    [InlineData("configmaps", "c-envfrom")]
    [InlineData("configmaps", "c-init")]
    public async Task Get_ObjectReferencedByOwnPod_IsAllowed(string plural, string name)
    {
        Assert.Equal(HttpStatusCode.OK, await CodeAsync(HttpMethod.Get, $"/api/v1/namespaces/{Ns}/{plural}/{name}"));
    }

    [Theory]
    [InlineData("secrets", "sb")]
    [InlineData("secrets", "s-unused")]
    [InlineData("configmaps", "cb")]
    public async Task Get_ObjectNotReferencedByOwnPods_IsForbidden(string plural, string name)
    {
        var status = await Api.StatusOf(await _a.GetAsync($"/api/v1/namespaces/{Ns}/{plural}/{name}"), 403);

        Assert.Equal(
            $"{plural} \"{name}\" is forbidden: User \"system:node:edge-a\" cannot get resource \"{plural}\" in API group \"\" in the namespace \"{Ns}\": no relationship found between node 'edge-a' and this object",
            status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task ListOrWrite_SecretsAndConfigMaps_IsForbidden()
    {
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Get, $"/api/v1/namespaces/{Ns}/secrets"));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Get, "/api/v1/secrets"));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Put, $"/api/v1/namespaces/{Ns}/secrets/sa",
            """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"sa"}}"""));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Delete, $"/api/v1/namespaces/{Ns}/configmaps/ca"));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Get, "/api/v1/namespaces/kube-system/secrets"));
    }

    [Fact]
    public async Task PodStatus_OfOwnPod_MayBePatched_OthersAndSpecMayNot()
    {
        const string patch = """{"status":{"phase":"Running"}}""";
        const string merge = "application/merge-patch+json";

        Assert.Equal(HttpStatusCode.OK, await CodeAsync(HttpMethod.Patch, $"/api/v1/namespaces/{Ns}/pods/pa/status", patch, merge));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Patch, $"/api/v1/namespaces/{Ns}/pods/pb/status", patch, merge));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Patch, $"/api/v1/namespaces/{Ns}/pods/pa", """{"metadata":{"labels":{"x":"y"}}}""", merge));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Delete, $"/api/v1/namespaces/{Ns}/pods/pa"));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Post, $"/api/v1/namespaces/{Ns}/pods",
            """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"sneaky"},"spec":{"nodeName":"edge-a","containers":[{"name":"c","image":"busybox"}]}}"""));
    }

    [Fact]
    public async Task Exec_IntoPods_IsForbidden_EvenIntoItsOwn()
    {
        // A node runs its pods; opening a command in one (kubectl exec, checked as create on pods/exec) is for users.
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Get, $"/api/v1/namespaces/{Ns}/pods/pa/exec?command=ls&stdout=true"));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Post, $"/api/v1/namespaces/{Ns}/pods/pb/exec?command=ls&stdout=true"));
    }

    [Fact]
    public async Task Node_OwnMayBeCreatedReadAndPatched_OthersMayNot()
    {
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Post, "/api/v1/nodes", """{"apiVersion":"v1","kind":"Node","metadata":{"name":"edge-z"}}"""));
        Assert.Equal(HttpStatusCode.Created, await CodeAsync(HttpMethod.Post, "/api/v1/nodes", """{"apiVersion":"v1","kind":"Node","metadata":{"name":"edge-a"}}"""));
        Assert.Equal(HttpStatusCode.OK, await CodeAsync(HttpMethod.Get, "/api/v1/nodes/edge-a"));
        Assert.Equal(HttpStatusCode.OK, await CodeAsync(HttpMethod.Patch, "/api/v1/nodes/edge-a/status",
            """{"status":{"conditions":[{"type":"Ready","status":"True"}]}}""", "application/merge-patch+json"));
        Assert.Equal(HttpStatusCode.OK, await CodeAsync(HttpMethod.Patch, "/api/v1/nodes/edge-a", """{"metadata":{"labels":{"a":"b"}}}""", "application/merge-patch+json"));
        Assert.Equal(HttpStatusCode.OK, await CodeAsync(HttpMethod.Get, "/api/v1/nodes"));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Get, "/api/v1/nodes/edge-b"));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Patch, "/api/v1/nodes/edge-b/status",
            """{"status":{"conditions":[{"type":"Ready","status":"False"}]}}""", "application/merge-patch+json"));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Delete, "/api/v1/nodes/edge-a"));
    }

    [Fact]
    public async Task Lease_OwnInNodeLeaseNamespace_MayBeCreatedReadAndUpdated()
    {
        const string path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
        static string Lease(string name, int seconds) =>
            $$$"""{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"{{{name}}}"},"spec":{"holderIdentity":"{{{name}}}","leaseDurationSeconds":{{{seconds}}}}}""";

        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Post, path, Lease("edge-b", 40)));
        Assert.Equal(HttpStatusCode.Created, await CodeAsync(HttpMethod.Post, path, Lease("edge-a", 40)));
        Assert.Equal(HttpStatusCode.OK, await CodeAsync(HttpMethod.Get, path + "/edge-a"));
        Assert.Equal(HttpStatusCode.OK, await CodeAsync(HttpMethod.Put, path + "/edge-a", Lease("edge-a", 50)));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Get, path + "/edge-b"));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Get, path));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Post, "/apis/coordination.k8s.io/v1/namespaces/default/leases", Lease("edge-a", 40)));
    }

    [Fact]
    public async Task Events_MayBeCreated_NotRead()
    {
        const string ev = """
            {"apiVersion":"v1","kind":"Event","metadata":{"name":"pa.1"},"involvedObject":{"kind":"Pod","namespace":"nodeauth","name":"pa"},
             "reason":"Started","message":"started","type":"Normal","source":{"component":"verge-agent","host":"edge-a"}}
            """;

        Assert.Equal(HttpStatusCode.Created, await CodeAsync(HttpMethod.Post, $"/api/v1/namespaces/{Ns}/events", ev));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Get, $"/api/v1/namespaces/{Ns}/events"));
    }

    [Fact]
    public async Task OtherKinds_AreForbidden()
    {
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Get, "/apis/apps/v1/deployments"));
        Assert.Equal(HttpStatusCode.Forbidden, await CodeAsync(HttpMethod.Get, "/api/v1/namespaces"));
    }

    [Fact]
    public async Task UserNamedLikeANodeButOutsideNodesGroup_IsForbidden()
    {
        using var impostor = _cluster.UserClient("system:node:edge-a", "some-group");

        Assert.Equal(HttpStatusCode.Forbidden, (await impostor.GetAsync($"/api/v1/namespaces/{Ns}/pods/pa")).StatusCode);
    }

    [Theory]
    [InlineData("get", "secrets", "sa", true)]
    [InlineData("get", "secrets", "sb", false)]
    [InlineData("list", "secrets", "", false)]
    [InlineData("create", "events", "", true)]
    public async Task SelfSubjectAccessReview_AnswersWithTheNodeAuthorizer(string verb, string resource, string name, bool allowed)
    {
        var review = new JsonObject
        {
            ["apiVersion"] = "authorization.k8s.io/v1",
            ["kind"] = "SelfSubjectAccessReview",
            ["spec"] = new JsonObject
            {
                ["resourceAttributes"] = new JsonObject { ["verb"] = verb, ["resource"] = resource, ["namespace"] = Ns, ["name"] = name },
            },
        }.ToJsonString();

        using var response = await _a.PostAsync("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", Api.Json(review));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(allowed, (await response.ReadObjectAsync())["status"]!["allowed"]!.GetValue<bool>());
    }
}
