using Verge.Core.Coordination;
using Verge.Core.Meta;

namespace Verge.Core.Validation;

/// <summary>Validation of coordination.k8s.io/v1 Lease.</summary>
public static class CoordinationValidation
{
    public static List<FieldError> ValidateLease(Lease lease, Lease? old)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var errors = new List<FieldError>();
        if (lease.Spec.LeaseDurationSeconds is <= 0)
        {
            errors.Add(FieldError.Invalid("spec.leaseDurationSeconds", lease.Spec.LeaseDurationSeconds.Value, "must be greater than 0"));
        }

        if (lease.Spec.LeaseTransitions is < 0)
        {
            errors.Add(FieldError.Invalid("spec.leaseTransitions", lease.Spec.LeaseTransitions.Value, "must be greater than or equal to 0"));
        }

        return errors;
    }
}
