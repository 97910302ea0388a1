using Verge.Controllers.Tests.Support;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Policy;
using Verge.Core.Selectors;

namespace Verge.Controllers.Tests.Disruption;

/// <summary>The disruption controller in the controller manager, with the node played by the test.</summary>
public sealed class DisruptionControllerTests
{
    private static PodDisruptionBudget Budget(string name, string app, int? minAvailable = null) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = "default" },
        Spec = new PodDisruptionBudgetSpec
        {
            MinAvailable = minAvailable,
            Selector = new LabelSelector { MatchLabels = new() { ["app"] = app } },
        },
    };

    [Fact]
    public async Task Status_FollowsTheDeploymentsPods_AndTheBudgetsSpec()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StartNodeAsync();
        var budgets = await cluster.TrackAsync<PodDisruptionBudget>();
        var deployment = TestCluster.NewDeployment("web", 3);
        await cluster.CreateAsync(deployment);
        var app = deployment.Spec.Selector!.MatchLabels!["app"];

        await cluster.CreateAsync(Budget("web", app, minAvailable: 2));
        var pdb = await budgets.WaitForAsync("web", b => b.Status is { ExpectedPods: 3, CurrentHealthy: 3, DesiredHealthy: 2, DisruptionsAllowed: 1 }, "3 healthy of 3, 1 allowed");
        Assert.Equal(1, pdb.Status!.ObservedGeneration);
        var condition = Assert.Single(pdb.Status.Conditions!);
        Assert.Equal(("DisruptionAllowed", "True", "SufficientPods"), (condition.Type, condition.Status, condition.Reason));

        // maxUnavailable counts the Deployment's scale.
        await cluster.UpdateAsync<PodDisruptionBudget>("web", b => (b.Spec.MinAvailable, b.Spec.MaxUnavailable) = (null, "50%"));
        pdb = await budgets.WaitForAsync("web", b => b.Status is { ObservedGeneration: 2, ExpectedPods: 3, DesiredHealthy: 1, DisruptionsAllowed: 2 }, "generation 2: 1 desired, 2 allowed");

        await cluster.UpdateAsync<Core.Apps.Deployment>("web", d => d.Spec.Replicas = 5);
        await budgets.WaitForAsync("web", b => b.Status is { ExpectedPods: 5, CurrentHealthy: 5, DesiredHealthy: 2, DisruptionsAllowed: 3 }, "5 expected, 3 allowed");
    }

    [Fact]
    public async Task Events_SayWhenNoPodMatches_AndWhenTheExpectedPodsCannotBeCounted()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StartNodeAsync();
        var budgets = await cluster.TrackAsync<PodDisruptionBudget>();
        var events = await cluster.TrackAsync<Event>();

        await cluster.CreateAsync(Budget("nothing", "absent", minAvailable: 1));
        await events.WaitUntilAsync(() => events.List().Any(e => e.InvolvedObject.Name == "nothing" && e.Reason == "NoPods" && e.Message == "No matching pods found"), "a NoPods event");
        await budgets.WaitForAsync("nothing", b => b.Status is { ObservedGeneration: 1, ExpectedPods: 0, DisruptionsAllowed: 0 }, "observed, nothing allowed");

        // A pod controlled by a kind Verge does not serve: its scale cannot be read, so nothing is allowed.
        await cluster.CreateAsync(new Pod
        {
            Metadata = new ObjectMeta
            {
                Name = "widget-0",
                Namespace = "default",
                Labels = new() { ["app"] = "widget" },
                OwnerReferences = [new OwnerReference { ApiVersion = "example.com/v1", Kind = "Widget", Name = "w", Uid = "widget-uid", Controller = true }],
            },
            Spec = new PodSpec { Containers = [new Container { Name = "c", Image = "registry.example/widget:1" }] },
        });
        var widget = Budget("widget", "widget");
        widget.Spec.MaxUnavailable = 1;
        await cluster.CreateAsync(widget);

        const string Failure = "Failed to calculate the number of expected pods: no matches for kind \"Widget\" in version \"example.com/v1\"";
        await events.WaitUntilAsync(() => events.List().Any(e => e.InvolvedObject.Name == "widget" && e.Reason == "CalculateExpectedPodCountFailed" && e.Message == Failure), "a CalculateExpectedPodCountFailed event");
        var pdb = await budgets.WaitForAsync("widget", b => b.Status?.Conditions?.Any(c => c.Reason == "SyncFailed") == true, "a SyncFailed condition");
        Assert.Equal(0, pdb.Status!.DisruptionsAllowed);
        Assert.Equal("False", pdb.Status.Conditions!.Single().Status);
    }
}
