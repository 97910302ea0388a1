using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Verge.ApiServer.Serialization.Protobuf;
using Verge.Core.Meta;

namespace Verge.ApiServer.Tests.Protobuf;

/// <summary>
/// A plain-HTTP stand-in for the API server on 127.0.0.1 that kubectl can create objects against: it answers
/// discovery for namespaces, configmaps, secrets, deployments and priorityclasses, records each POST (content type and body), and
/// answers it with the body decoded by <see cref="KubernetesProtobuf"/> as JSON, as Verge does.
/// </summary>
internal sealed class CaptureServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public sealed record Request(string Path, string? ContentType, string? Accept, byte[] Body);

    public CaptureServer()
    {
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public ConcurrentQueue<Request> Posts { get; } = new();

    /// <summary>A kubeconfig for this server, written to <paramref name="path"/>.</summary>
    public string WriteKubeconfig(string path)
    {
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: capture
              cluster:
                server: http://127.0.0.1:{Port}
            users:
            - name: capture
              user: {"{}"}
            contexts:
            - name: capture
              context:
                cluster: capture
                user: capture
                namespace: default
            current-context: capture
            """);
        return path;
    }

    public void Dispose()
    {
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                await HandleAsync(context);
            }
            catch (Exception e) when (e is HttpListenerException or IOException)
            {
                // kubectl went away; nothing to answer.
            }
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var path = request.Url!.AbsolutePath;
        if (request.HttpMethod == "POST")
        {
            using var body = new MemoryStream();
            await request.InputStream.CopyToAsync(body);
            var recorded = new Request(path, request.ContentType, request.Headers["Accept"], body.ToArray());
            Posts.Enqueue(recorded);
            var type = path.StartsWith("/apis/apps/v1/", StringComparison.Ordinal)
                ? ResourceCatalog.FindByKind("apps/v1", "Deployment")!
                : path.StartsWith("/apis/scheduling.k8s.io/v1/", StringComparison.Ordinal)
                    ? ResourceCatalog.FindByKind("scheduling.k8s.io/v1", "PriorityClass")!
                    : path.StartsWith("/apis/policy/v1/", StringComparison.Ordinal)
                        ? ResourceCatalog.FindByKind("policy/v1", "PodDisruptionBudget")!
                        : ResourceCatalog.Find("", "v1", path.Split('/')[^1])!;
            JsonObject answer;
            try
            {
                answer = KubernetesProtobuf.Decode(recorded.Body, type);
            }
            catch (FormatException e)
            {
                await WriteAsync(context, 400, $$"""{"kind":"Status","apiVersion":"v1","status":"Failure","message":{{JsonValue.Create(e.Message).ToJsonString()}},"reason":"BadRequest","code":400}""");
                return;
            }

            await WriteAsync(context, 201, answer.ToJsonString());
            return;
        }

        var json = path switch
        {
            "/version" => """{"major":"1","minor":"32","gitVersion":"v1.32.0"}""",
            "/api" => """{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}""",
            "/apis" => """{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},{"name":"scheduling.k8s.io","versions":[{"groupVersion":"scheduling.k8s.io/v1","version":"v1"}],"preferredVersion":{"groupVersion":"scheduling.k8s.io/v1","version":"v1"}},{"name":"policy","versions":[{"groupVersion":"policy/v1","version":"v1"}],"preferredVersion":{"groupVersion":"policy/v1","version":"v1"}}]}""",
            "/api/v1" => """
                {"kind":"APIResourceList","groupVersion":"v1","resources":[
                 {"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["create","get","list"]},
                 {"name":"configmaps","singularName":"configmap","namespaced":true,"kind":"ConfigMap","verbs":["create","get","list"]},
                 {"name":"secrets","singularName":"secret","namespaced":true,"kind":"Secret","verbs":["create","get","list"]}]}
                """,
            "/apis/apps/v1" => """
                {"kind":"APIResourceList","groupVersion":"apps/v1","resources":[
                 {"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment","verbs":["create","get","list"]}]}
                """,
            "/apis/scheduling.k8s.io/v1" => """
                {"kind":"APIResourceList","groupVersion":"scheduling.k8s.io/v1","resources":[
                 {"name":"priorityclasses","singularName":"priorityclass","namespaced":false,"kind":"PriorityClass","verbs":["create","get","list"]}]}
                """,
            "/apis/policy/v1" => """
                {"kind":"APIResourceList","groupVersion":"policy/v1","resources":[
                 {"name":"poddisruptionbudgets","singularName":"poddisruptionbudget","namespaced":true,"kind":"PodDisruptionBudget","shortNames":["pdb"],"verbs":["create","get","list"]}]}
                """,
            _ => null,
        };
        if (json is null)
        {
            await WriteAsync(context, 404, """{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}""");
        }
        else
        {
            await WriteAsync(context, 200, json);
        }
    }

    private static async Task WriteAsync(HttpListenerContext context, int status, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength64 = bytes.Length;
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }
}
