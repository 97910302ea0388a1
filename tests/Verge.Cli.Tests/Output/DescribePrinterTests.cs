using System.Text.Json.Nodes;
using Verge.Cli.Output;

namespace Verge.Cli.Tests.Output;

public sealed class DescribePrinterTests
{
    private static readonly DateTimeOffset Now = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static JsonObject Deployment() => JsonNode.Parse("""
        {"apiVersion":"apps/v1","kind":"Deployment",
         "metadata":{"name":"web","namespace":"prod","labels":{"tier":"front","app":"web"},"creationTimestamp":"2025-01-01T11:00:00Z"},
         "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
                 "template":{"spec":{"containers":[{"name":"c","image":"img:1","ports":[{"containerPort":8080}]}]}}},
         "status":{"replicas":2}}
        """)!.AsObject();

    [Fact]
    public void Render_WhenDeployment_ShowsMetadataThenFlattenedSpecAndStatus()
    {
        var text = DescribePrinter.Render(Deployment(), [], Now);

        Assert.Equal(
            """
            Name:               web
            Namespace:          prod
            Labels:             app=web
                                tier=front
            Annotations:        <none>
            API Version:        apps/v1
            Kind:               Deployment
            CreationTimestamp:  2025-01-01T11:00:00Z
            Spec:
              replicas: 2
              selector:
                matchLabels:
                  app: web
              template:
                spec:
                  containers:
                  - name: c
                    image: img:1
                    ports:
                    - containerPort: 8080
            Status:
              replicas: 2
            Events:             <none>

            """.Replace("\r\n", "\n"),
            text);
    }

    [Fact]
    public void Render_WhenEventsGiven_ListsThemOldestFirstWithAge()
    {
        var events = new[]
        {
            JsonNode.Parse("""{"type":"Normal","reason":"Scaled","message":"Scaled up to 2","source":{"component":"deployment-controller"},"lastTimestamp":"2025-01-01T11:59:30Z"}""")!.AsObject(),
            JsonNode.Parse("""{"type":"Warning","reason":"Failed","message":"boom","reportingController":"verge","count":3,"firstTimestamp":"2025-01-01T11:00:00Z","lastTimestamp":"2025-01-01T11:55:00Z"}""")!.AsObject(),
        };

        var text = DescribePrinter.Render(Deployment(), events, Now);

        Assert.EndsWith(
            """
            Events:
              Type     Reason  Age               From                   Message
              ----     ------  ----              ----                   -------
              Warning  Failed  5m (x3 over 60m)  verge                  boom
              Normal   Scaled  30s               deployment-controller  Scaled up to 2

            """.Replace("\r\n", "\n"),
            text);
    }

    [Fact]
    public void Render_WhenSecret_HidesDataValues()
    {
        var secret = JsonNode.Parse("""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"password":"aHVudGVyMg=="}}""")!.AsObject();

        var text = DescribePrinter.Render(secret, null, Now);

        // "hunter2", 7 bytes (its base64 text has 12 characters).
        Assert.Contains("  password: 7 bytes\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("aHVudGVyMg", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(45, "45s")]
    [InlineData(150, "2m30s")]
    [InlineData(3600, "60m")]
    [InlineData(4 * 3600 + 60, "4h1m")]
    [InlineData(20 * 3600, "20h")]
    [InlineData(3 * 86400 + 3600, "3d1h")]
    [InlineData(100 * 86400, "100d")]
    public void Age_WhenSpanGiven_FormatsLikeKubectl(int seconds, string expected)
    {
        Assert.Equal(expected, DescribePrinter.Age(TimeSpan.FromSeconds(seconds)));
    }
}
