using System.Text.Json;
using Verge.ApiServer.Registry;
using Verge.Core.Coordination;
using Verge.Core.Meta;
using Verge.Core.Patching;
using Verge.Core.Serialization;

namespace Verge.ApiServer.Tests.Http;

public class LeaseRenewalManagedFieldsTests
{
    private static readonly ResourceType LeaseType = ResourceCatalog.For<Lease>();
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void RecordManager_WhenALeaseIsRenewedByItsManager_GivesWhatTheFullComparisonGives()
    {
        var created = Created("node-1", manager: "sim");
        var renewed = Clone(created);
        renewed.Spec.RenewTime = Start.AddSeconds(2.5);

        var fast = (Lease)Patcher.RecordManager(LeaseType, Clone(created), Clone(renewed), "sim", "Update", Start.AddSeconds(2.7));

        Assert.Equal(Slow(created, renewed, "sim", Start.AddSeconds(2.7)), Fields(fast));
        Assert.Equal(Start.AddSeconds(2), fast.Metadata.ManagedFields!.Single().Time);
    }

    [Fact]
    public void TryRecordRenewal_WhenMoreThanRenewTimeChangesOrAnotherManagerWrites_LeavesItToTheFullComparison()
    {
        var created = Created("node-1", manager: "sim");
        var holder = Clone(created);
        holder.Spec.HolderIdentity = "node-2";
        holder.Spec.RenewTime = Start.AddSeconds(1);
        var labelled = Clone(created);
        labelled.Metadata.Labels = new Dictionary<string, string> { ["a"] = "b" };
        labelled.Spec.RenewTime = Start.AddSeconds(1);
        var renewed = Clone(created);
        renewed.Spec.RenewTime = Start.AddSeconds(1);

        Assert.False(Patcher.TryRecordRenewal(LeaseType, Clone(created), holder, "sim", "Update", Start, null));
        Assert.False(Patcher.TryRecordRenewal(LeaseType, Clone(created), labelled, "sim", "Update", Start, null));
        Assert.False(Patcher.TryRecordRenewal(LeaseType, Clone(created), Clone(renewed), "kubectl", "Update", Start, null));
        var other = (Lease)Patcher.RecordManager(LeaseType, Clone(created), Clone(renewed), "kubectl", "Update", Start.AddSeconds(1));
        Assert.Equal(Slow(created, renewed, "kubectl", Start.AddSeconds(1)), Fields(other));
        Assert.Equal(["sim", "kubectl"], other.Metadata.ManagedFields!.Select(e => e.Manager));
    }

    private static Lease Created(string name, string manager)
    {
        var lease = new Lease
        {
            ApiVersion = "coordination.k8s.io/v1",
            Kind = "Lease",
            Metadata = new ObjectMeta { Name = name, Namespace = Lease.NodeLeaseNamespace, Uid = "u-1", ResourceVersion = "7" },
            Spec = new LeaseSpec { HolderIdentity = name, LeaseDurationSeconds = 4, RenewTime = Start },
        };
        return (Lease)Patcher.RecordManager(LeaseType, null, lease, manager, "Update", Start);
    }

    private static string Slow(Lease before, Lease after, string manager, DateTimeOffset now)
    {
        var recorded = ManagedFields.RecordUpdate(ObjectCodec.ToNode(LeaseType, before), ObjectCodec.ToNode(LeaseType, after), manager, "Update",
            LeaseType.ApiVersion, Patcher.SchemaOf(LeaseType), now);
        return recorded["metadata"]!["managedFields"]!.ToJsonString();
    }

    private static string Fields(Lease lease) =>
        JsonSerializer.SerializeToNode(lease.Metadata.ManagedFields, VergeJson.Options.GetTypeInfo(typeof(List<ManagedFieldsEntry>)))!.ToJsonString();

    private static Lease Clone(Lease lease) =>
        JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(lease, VergeJsonContext.Default.Lease), VergeJsonContext.Default.Lease)!;
}
