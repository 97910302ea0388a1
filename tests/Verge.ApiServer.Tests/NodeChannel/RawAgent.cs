using System.Security.Cryptography.X509Certificates;
using System.Text;
using Verge.ApiServer.Security;
using Verge.NodeChannel.Protocol;
using Verge.Tests.Shared;

namespace Verge.ApiServer.Tests.NodeChannel;

/// <summary>A node's end of the channel spoken by a raw gRPC client, for tests of the server's stream relays.</summary>
internal static class RawAgent
{
    /// <summary>Opens the channel of a node with one pod (container "c") bound to it, past the session's first catch-up.</summary>
    public static async Task<RawChannel> ConnectWithPodAsync(ApiServerFixture server, string node)
    {
        using (var admin = server.AdminClient())
        {
            var pod = $$$"""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{node}}}"},"spec":{"nodeName":"{{{node}}}","containers":[{"name":"c","image":"busybox"}]}}""";
            using var created = await admin.PostAsync("/api/v1/namespaces/default/pods", new StringContent(pod, Encoding.UTF8, "application/json"));
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        var ca = (CertificateAuthority)server.Host.Services.GetService(typeof(CertificateAuthority))!;
        var (cert, key) = ca.IssueClient("system:node:" + node, ["system:nodes"], TimeSpan.FromHours(1));
        var channel = RawChannel.Open(server.Address, X509Certificate2.CreateFromPem(cert, key), ca.Certificate);
        await channel.SendAsync(new AgentMessage { Hello = new Hello { NodeName = node } });
        while (await channel.NextAsync() is not { BodyCase: ServerMessage.BodyOneofCase.Sync, Sync.Complete: true })
        {
        }

        return channel;
    }

    /// <summary>The next message of <paramref name="kind"/>, past the others (acknowledgements, later catch-ups).</summary>
    public static async Task<ServerMessage> NextAsync(RawChannel channel, ServerMessage.BodyOneofCase kind)
    {
        while (true)
        {
            var message = await channel.NextAsync();
            if (message.BodyCase == kind)
            {
                return message;
            }
        }
    }
}
