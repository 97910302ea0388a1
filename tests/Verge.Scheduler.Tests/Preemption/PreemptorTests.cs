using static Verge.Scheduler.Tests.Build;

namespace Verge.Scheduler.Tests.Preemption;

public sealed class PreemptorTests
{
    [Fact]
    public void Preempt_EvictsOnlyWhatIsNeeded_LowestPriorityFirst()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "4")],
        [
            Pod("low", cpu: "2", priority: 1, node: "a"),
            Pod("mid", cpu: "2", priority: 5, node: "a"),
        ]);

        var plan = Schedule(snapshot, Pod("high", cpu: "2", priority: 10));

        var preemption = Assert.Single(plan.Preemptions);
        Assert.Equal("a", preemption.NominatedNodeName);
        Assert.Equal(["low"], preemption.Victims.Select(v => v.Name));
        Assert.Equal("0/1 nodes are available: 1 Insufficient cpu.", preemption.Message);
    }

    [Fact]
    public void Preempt_APodWhosePolicyIsNever_EvictsNothing_AndSaysWhy()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2")], [Pod("low", cpu: "2", priority: 1, node: "a")]);
        var pod = Pod("high", cpu: "2", priority: 10);
        pod.Spec.PreemptionPolicy = "Never";

        var plan = Schedule(snapshot, pod);

        Assert.Empty(plan.Preemptions);
        Assert.Empty(plan.Bindings);
        Assert.Equal("0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.", Message(plan));
    }

    [Fact]
    public void Preempt_WhileTheVictimsOfTheNominationAreTerminating_WaitsForThem_InsteadOfPreemptingAgain()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2")],
        [
            Pod("victim", cpu: "2", priority: 1, node: "a"),
            Pod("bystander", cpu: "2", priority: 3, node: "b"),
        ]);
        var pod = Pod("high", cpu: "2", priority: 10);
        var first = Schedule(snapshot, pod);
        Assert.Equal(["victim"], Assert.Single(first.Preemptions).Victims.Select(v => v.Name));
        snapshot.Apply(first);

        // A finalizer holds the victim: it is being deleted, and holds its cpu on "a" until it is gone.
        snapshot.Bind(Pod("victim", cpu: "2", priority: 1, node: "a").Terminating());
        pod.Status = new Verge.Core.Core.PodStatus { NominatedNodeName = "a" };

        var plan = Schedule(snapshot, pod);

        Assert.Empty(plan.Preemptions);
        Assert.Equal("0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node.", Message(plan));

        // Once the victim is gone, the room is there.
        snapshot.Unbind("default", "victim");
        snapshot.ForgetPreempted("default", "victim");
        Assert.Equal("a", NodeOf(Schedule(snapshot, pod), "high"));
    }

    [Fact]
    public void Preempt_APodStuckTerminatingThatNoPreemptionEvicted_DoesNotStopAnother()
    {
        // "stuck" is being deleted but a finalizer holds it; it was never a victim, so the pod may preempt elsewhere.
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2")],
        [
            Pod("stuck", cpu: "2", priority: 1, node: "a").Terminating(),
            Pod("bystander", cpu: "2", priority: 3, node: "b"),
        ]);
        var pod = Pod("high", cpu: "2", priority: 10);
        pod.Status = new Verge.Core.Core.PodStatus { NominatedNodeName = "a" };

        var preemption = Assert.Single(Schedule(snapshot, pod).Preemptions);

        Assert.Equal(["stuck"], preemption.Victims.Select(v => v.Name));
    }

    [Fact]
    public void Apply_KeepsAVictimThatWasAlreadyTerminating_UntilItIsGone()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2")], [Pod("going", cpu: "2", priority: 1, node: "a").Terminating()]);
        var plan = Schedule(snapshot, Pod("high", cpu: "2", priority: 10));
        Assert.Equal(["going"], Assert.Single(plan.Preemptions).Victims.Select(v => v.Name));

        snapshot.Apply(plan);

        // Deleting it again writes nothing, so no event would bring it back: it keeps its room.
        Assert.Equal("a", snapshot.NodeOf("default", "going"));
        Assert.StartsWith("0/1 nodes are available: 1 Insufficient cpu.", Message(Schedule(snapshot, Pod("low", cpu: "2", priority: 1))), StringComparison.Ordinal);
    }

    [Fact]
    public void Nomination_HoldsTheVictimsRoom_AgainstPodsOfNoHigherPriority_UntilCleared()
    {
        // The victim is gone and its replacement (same priority) is pending: the room belongs to the nominated pod.
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "5")], [Pod("other", cpu: "1", priority: 1, node: "a")]);
        snapshot.Nominate(Pod("high", cpu: "3", priority: 10), "a");

        var held = Schedule(snapshot, Pod("replacement", cpu: "3", priority: 10));
        Assert.StartsWith("0/1 nodes are available: 1 Insufficient cpu.", Message(held), StringComparison.Ordinal);
        Assert.Empty(held.Preemptions);
        Assert.Empty(Schedule(snapshot, Pod("replacement", cpu: "3", priority: 1)).Bindings);
        Assert.Equal("a", NodeOf(Schedule(snapshot, Pod("small", cpu: "1", priority: 1)), "small"));
        Assert.Equal("a", NodeOf(Schedule(snapshot, Pod("high", cpu: "3", priority: 10)), "high"));
        Assert.Equal("a", NodeOf(Schedule(snapshot, Pod("higher", cpu: "3", priority: 20)), "higher"));

        snapshot.ClearNomination("default/high");
        Assert.Null(snapshot.NominationOf("default", "high"));
        Assert.Equal("a", NodeOf(Schedule(snapshot, Pod("replacement", cpu: "3", priority: 1)), "replacement"));
    }

    [Fact]
    public void Preempt_PrefersNodeWhoseHighestVictimPriorityIsLowest()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2")],
        [
            Pod("a1", cpu: "1", priority: 1, node: "a"),
            Pod("a2", cpu: "1", priority: 1, node: "a"),
            Pod("b1", cpu: "2", priority: 5, node: "b"),
        ]);

        var preemption = Assert.Single(Schedule(snapshot, Pod("p", cpu: "2", priority: 10)).Preemptions);

        Assert.Equal("a", preemption.NominatedNodeName);
        Assert.Equal(["a1", "a2"], preemption.Victims.Select(v => v.Name).Order());
    }

    [Fact]
    public void Preempt_AtEqualPriority_PrefersFewerVictims()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2")],
        [
            Pod("a1", cpu: "1", priority: 1, node: "a"),
            Pod("a2", cpu: "1", priority: 1, node: "a"),
            Pod("b1", cpu: "2", priority: 1, node: "b"),
        ]);

        var preemption = Assert.Single(Schedule(snapshot, Pod("p", cpu: "2", priority: 10)).Preemptions);

        Assert.Equal("b", preemption.NominatedNodeName);
        Assert.Equal(["b1"], preemption.Victims.Select(v => v.Name));
    }

    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-03-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("a")]
    [InlineData("b")]
    public void Preempt_WhenNodesTieOnEverythingElse_PrefersTheOneWhoseVictimsStartedLast(string newer)
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2")],
        [
            Pod("a1", cpu: "2", priority: 1, node: "a").StartedAt(newer == "a" ? T0.AddHours(1) : T0),
            Pod("b1", cpu: "2", priority: 1, node: "b").StartedAt(newer == "b" ? T0.AddHours(1) : T0),
        ]);

        var preemption = Assert.Single(Schedule(snapshot, Pod("p", cpu: "2", priority: 10)).Preemptions);

        Assert.Equal(newer, preemption.NominatedNodeName);
    }

    [Fact]
    public void Preempt_ComparesTheStartTimesOfTheHighestPriorityVictimsOnly()
    {
        // Both nodes lose a priority-1 and a priority-5 pod. On a the priority-5 victim started last, so a goes, even
        // though its priority-1 victim is the oldest pod of all.
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2")],
        [
            Pod("a-low", cpu: "1", priority: 1, node: "a").StartedAt(T0),
            Pod("a-mid", cpu: "1", priority: 5, node: "a").StartedAt(T0.AddHours(3)),
            Pod("b-low", cpu: "1", priority: 1, node: "b").StartedAt(T0.AddHours(2)),
            Pod("b-mid", cpu: "1", priority: 5, node: "b").StartedAt(T0.AddHours(1)),
        ]);

        var preemption = Assert.Single(Schedule(snapshot, Pod("p", cpu: "2", priority: 10)).Preemptions);

        Assert.Equal("a", preemption.NominatedNodeName);
        Assert.Equal(["a-low", "a-mid"], preemption.Victims.Select(v => v.Name).Order());
    }

    [Fact]
    public void Preempt_CountsAVictimWithoutAStartTimeAsTheNewest_AndTwoSuchNodesTieToWalkOrder()
    {
        // kube-scheduler takes the current time for a pod that has not started: later than any that has.
        var started = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2")],
        [
            Pod("a1", cpu: "2", priority: 1, node: "a").StartedAt(T0.AddDays(1)),
            Pod("b1", cpu: "2", priority: 1, node: "b"),
        ]);
        Assert.Equal("b", Assert.Single(Schedule(started, Pod("p", cpu: "2", priority: 10)).Preemptions).NominatedNodeName);

        // Neither has started: still tied, the first node of the walk (slots follow node names here) wins.
        var unstarted = ClusterSnapshot.From([Node("b", cpu: "2"), Node("a", cpu: "2")],
        [
            Pod("b1", cpu: "2", priority: 1, node: "b"),
            Pod("a1", cpu: "2", priority: 1, node: "a"),
        ]);
        Assert.Equal("a", Assert.Single(Schedule(unstarted, Pod("p", cpu: "2", priority: 10)).Preemptions).NominatedNodeName);
    }

    [Fact]
    public void Preempt_NeverEvictsEqualOrHigherPriority()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2")], [Pod("peer", cpu: "2", priority: 10, node: "a")]);

        var plan = Schedule(snapshot, Pod("p", cpu: "1", priority: 10));

        Assert.Empty(plan.Preemptions);
        Assert.Equal("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.", Message(plan));
    }

    [Fact]
    public void Preempt_WhenFailureIsUnresolvable_SaysPreemptionIsNotHelpful()
    {
        var snapshot = ClusterSnapshot.From(
            [Node("t", taints: [Taint("k", "v", "NoSchedule")]), Node("full", cpu: "1")],
            [Pod("low", cpu: "1", priority: 0, node: "full")]);

        var plan = Schedule(snapshot, Pod("p", cpu: "2", priority: 10));

        Assert.Equal("0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {k: v}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.", Message(plan));
    }

    [Fact]
    public void Preempt_ReservesTheNodeForLaterPodsOfTheBatch()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2")], [Pod("low", cpu: "2", priority: 0, node: "a")]);

        var plan = Schedule(snapshot, Pod("high", cpu: "2", priority: 10), Pod("next", cpu: "1", priority: 5));

        Assert.Single(plan.Preemptions);
        Assert.Empty(plan.Bindings);
        Assert.StartsWith("0/1 nodes are available: 1 Insufficient cpu.", Message(plan));
    }

    [Fact]
    public void Preempt_HostPortHeldByLowerPriority_IsFreed()
    {
        var snapshot = ClusterSnapshot.From([Node("a")], [Pod("low", priority: 0, node: "a", hostPort: 80), Pod("other", priority: 0, node: "a")]);

        var preemption = Assert.Single(Schedule(snapshot, Pod("p", priority: 10, hostPort: 80)).Preemptions);

        Assert.Equal(["low"], preemption.Victims.Select(v => v.Name));
    }

    [Fact]
    public void NominatedNode_IsTriedFirstOnTheNextBatch()
    {
        // Scoring alone would pick the emptier b; the nomination wins because a fits.
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2")], [Pod("other", cpu: "1", node: "a")]);
        var pod = Pod("p", cpu: "1", priority: 10);

        Assert.Equal("b", NodeOf(Schedule(snapshot, pod), "p"));
        pod.Status = new() { NominatedNodeName = "a" };
        Assert.Equal("a", NodeOf(Schedule(snapshot, pod), "p"));
    }

    [Fact]
    public void Victims_KeepTheirRoomUntilGone_InTheBatchAndAfterIt()
    {
        // The victim takes 3 of 4 CPUs; the preemptor needs 2, so 1 would look free were the victim gone at once.
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "4")], [Pod("low", cpu: "3", node: "a")]);

        var high = Pod("high", cpu: "2", priority: 10);
        var plan = Schedule(snapshot, high, Pod("filler", cpu: "1"));

        Assert.Equal(["low"], Assert.Single(plan.Preemptions).Victims.Select(v => v.Name));
        Assert.Empty(plan.Bindings);

        // The next batch, as the loop runs it: the victim still there (Terminating), the preemptor's room held by
        // its nomination. Neither the victim's room nor the nominated room goes to another pod.
        snapshot.Apply(plan);
        snapshot.Nominate(high, "a");
        Assert.Equal("a", snapshot.NodeOf("default", "low"));
        Assert.Null(snapshot.NodeOf("default", "high"));
        Assert.Empty(Schedule(snapshot, Pod("filler", cpu: "1")).Bindings);

        // Gone: the nominated preemptor is placed.
        snapshot.Unbind("default", "low");
        high.Status = new() { NominatedNodeName = "a" };
        Assert.Equal("a", NodeOf(Schedule(snapshot, high), "high"));
    }

    [Fact]
    public void Preempt_PrefersANodeWhoseVictimsNoBudgetNeeds_OverLowerPriorities()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2")],
        [
            Pod("web-a", cpu: "2", priority: 1, node: "a", labels: Labels("app=web")),
            Pod("db-b", cpu: "2", priority: 5, node: "b", labels: Labels("app=db")),
        ]);
        snapshot.SetDisruptionBudgets([Budget("web", allowed: 0)]);

        var preemption = Assert.Single(Schedule(snapshot, Pod("p", cpu: "2", priority: 10)).Preemptions);

        Assert.Equal(("b", "db-b"), (preemption.NominatedNodeName, Assert.Single(preemption.Victims).Name));
    }

    [Fact]
    public void Preempt_OnANode_SparesTheBudgetsPodsFirst_ButBreaksTheBudgetWhenNothingElseMakesRoom()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "3")],
        [
            Pod("web-1", cpu: "1", priority: 1, node: "a", labels: Labels("app=web")),
            Pod("web-2", cpu: "1", priority: 1, node: "a", labels: Labels("app=web")),
            Pod("db", cpu: "1", priority: 3, node: "a", labels: Labels("app=db")),
        ]);
        snapshot.SetDisruptionBudgets([Budget("web", allowed: 1)]);

        // Without the budget the two lowest priorities would go; with it one web pod stays and db goes instead.
        var spared = Assert.Single(Schedule(snapshot, Pod("p", cpu: "2", priority: 10)).Preemptions);
        Assert.Equal(["db", "web-1"], spared.Victims.Select(v => v.Name).Order());

        // Room for three needs every pod gone: the budget is broken rather than the pod left pending.
        var broken = Assert.Single(Schedule(snapshot, Pod("q", cpu: "3", priority: 10)).Preemptions);
        Assert.Equal(3, broken.Victims.Count);
    }

    [Fact]
    public void Preempt_LaterPodsOfABatch_SeeTheDisruptionsEarlierOnesTook()
    {
        var snapshot = ClusterSnapshot.From([Node("a", cpu: "2"), Node("b", cpu: "2"), Node("c", cpu: "2")],
        [
            Pod("web-a", cpu: "2", priority: 1, node: "a", labels: Labels("app=web")),
            Pod("web-b", cpu: "2", priority: 1, node: "b", labels: Labels("app=web")),
            Pod("db-c", cpu: "2", priority: 2, node: "c", labels: Labels("app=db")),
        ]);
        snapshot.SetDisruptionBudgets([Budget("web", allowed: 1)]);

        var plan = Schedule(snapshot, Pod("p1", cpu: "2", priority: 10), Pod("p2", cpu: "2", priority: 10));

        Assert.Equal(2, plan.Preemptions.Count);
        var victims = plan.Preemptions.SelectMany(p => p.Victims).Select(v => v.Name).Order().ToList();
        Assert.Equal(["db-c", "web-a"], victims);
    }

    private static Core.Policy.PodDisruptionBudget Budget(string app, int allowed) => new()
    {
        Metadata = new Core.Meta.ObjectMeta { Name = app, Namespace = "default" },
        Spec = new Core.Policy.PodDisruptionBudgetSpec { Selector = new Core.Selectors.LabelSelector { MatchLabels = new() { ["app"] = app } } },
        Status = new Core.Policy.PodDisruptionBudgetStatus { DisruptionsAllowed = allowed },
    };
}
