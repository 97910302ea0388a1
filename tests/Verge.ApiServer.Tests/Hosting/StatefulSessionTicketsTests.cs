using Microsoft.Extensions.DependencyInjection;
using Verge.ApiServer.Hosting;

namespace Verge.ApiServer.Tests.Hosting;

/// <summary>The server switches its TLS context to stateful session tickets as it starts, before any client connects.</summary>
public sealed class StatefulSessionTicketsTests
{
    [Fact]
    public async Task Start_SwitchesToStatefulTickets_BeforeTheFirstClientConnects()
    {
        Assert.True(StatefulSessionTickets.Supported, "this machine runs Linux with OpenSSL 3");
        var fixture = new ApiServerFixture();
        await fixture.InitializeAsync();
        try
        {
            // No client has connected: only the server's own warm-up connection can have switched the context, so the
            // nodes reconnecting at once after a restart get stateful tickets from their first handshake on.
            Assert.True(fixture.Host.Services.GetRequiredService<StatefulSessionTickets>().Applied);
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }
}
