using System.Text.Json;
using System.Text.RegularExpressions;
using Verge.Core.Core;
using Verge.Core.Meta;
using Verge.Core.Serialization;

namespace Verge.Core.Validation;

/// <summary>
/// Validation of pod and container security contexts, following Kubernetes' ValidateSecurityContext,
/// ValidatePodSecurityContext, validateSeccompProfileField and validateSysctls, with their messages.
/// </summary>
public static partial class SecurityContextValidation
{
    private static readonly string[] SeccompProfileTypes = ["Localhost", "RuntimeDefault", "Unconfined"];
    private static readonly string[] FsGroupChangePolicies = ["Always", "OnRootMismatch"];

    /// <summary>Kubernetes' SysctlMaxLength.</summary>
    private const int SysctlMaxLength = 253;

    /// <summary>Kubernetes' sysctl name format, with '/' allowed as a separator as well as '.'.</summary>
    /// <summary>Kubernetes' SysctlContainSlashFmt, as its message prints it (unanchored).</summary>
    private const string SysctlPattern = @"([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?";

    [GeneratedRegex("^" + SysctlPattern + "$")]
    private static partial Regex SysctlName();

    /// <summary>A container's securityContext under <paramref name="path"/>.</summary>
    public static void ValidateSecurityContext(SecurityContext? context, string path, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (context is null)
        {
            return;
        }

        ValidateIds(context.RunAsUser, context.RunAsGroup, path, errors);
        if (context.AllowPrivilegeEscalation == false)
        {
            if (context.Privileged == true)
            {
                errors.Add(InvalidContext(path, context, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"));
            }

            foreach (var capability in context.Capabilities?.Add ?? [])
            {
                if (capability == "CAP_SYS_ADMIN")
                {
                    errors.Add(InvalidContext(path, context, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"));
                }
            }
        }

        ValidateSeccompProfile(context.SeccompProfile, $"{path}.seccompProfile", errors);
    }

    /// <summary>A pod's securityContext under <paramref name="path"/>; <paramref name="hostNetwork"/> forbids net.* sysctls.</summary>
    public static void ValidatePodSecurityContext(PodSecurityContext? context, bool hostNetwork, string path, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (context is null)
        {
            return;
        }

        ValidateIds(context.RunAsUser, context.RunAsGroup, path, errors);
        if (context.FsGroup is { } fsGroup && !IsValidId(fsGroup))
        {
            errors.Add(FieldError.Invalid($"{path}.fsGroup", fsGroup, IdRangeMessage));
        }

        for (var i = 0; i < (context.SupplementalGroups?.Count ?? 0); i++)
        {
            var group = context.SupplementalGroups![i];
            if (!IsValidId(group))
            {
                errors.Add(FieldError.Invalid($"{path}.supplementalGroups[{i}]", group, IdRangeMessage));
            }
        }

        if (context.FsGroupChangePolicy is { } policy && !FsGroupChangePolicies.Contains(policy))
        {
            errors.Add(FieldError.NotSupported($"{path}.fsGroupChangePolicy", policy, FsGroupChangePolicies));
        }

        ValidateSysctls(context.Sysctls, hostNetwork, $"{path}.sysctls", errors);
        ValidateSeccompProfile(context.SeccompProfile, $"{path}.seccompProfile", errors);
    }

    /// <summary>Whether <paramref name="name"/> is a sysctl name as Kubernetes accepts it ('.' or '/' separated).</summary>
    public static bool IsValidSysctlName(string name) =>
        name.Length <= SysctlMaxLength && SysctlName().IsMatch(name);

    private const string IdRangeMessage = "must be between 0 and 2147483647, inclusive";

    private static bool IsValidId(long id) => id is >= 0 and <= int.MaxValue;

    private static void ValidateIds(long? user, long? group, string path, List<FieldError> errors)
    {
        if (user is { } uid && !IsValidId(uid))
        {
            errors.Add(FieldError.Invalid($"{path}.runAsUser", uid, IdRangeMessage));
        }

        if (group is { } gid && !IsValidId(gid))
        {
            errors.Add(FieldError.Invalid($"{path}.runAsGroup", gid, IdRangeMessage));
        }
    }

    private static void ValidateSeccompProfile(SeccompProfile? profile, string path, List<FieldError> errors)
    {
        if (profile is null)
        {
            return;
        }

        if (profile.Type is null or "")
        {
            errors.Add(FieldError.Required($"{path}.type", "type is required when seccompProfile is set"));
        }
        else if (!SeccompProfileTypes.Contains(profile.Type))
        {
            errors.Add(FieldError.NotSupported($"{path}.type", profile.Type, SeccompProfileTypes));
        }

        if (profile.Type == "Localhost")
        {
            if (profile.LocalhostProfile is not { } local)
            {
                errors.Add(FieldError.Required($"{path}.localhostProfile", "must be set when seccomp type is Localhost"));
                return;
            }

            if (local.StartsWith('/'))
            {
                errors.Add(FieldError.Invalid($"{path}.localhostProfile", local, "must be a relative path"));
            }

            if (local.Split('/').Contains(".."))
            {
                errors.Add(FieldError.Invalid($"{path}.localhostProfile", local, "must not contain '..'"));
            }
        }
        else if (profile.LocalhostProfile is not null)
        {
            var json = JsonSerializer.Serialize(profile, VergeJsonContext.Default.SeccompProfile);
            errors.Add(new FieldError($"{path}.localhostProfile", FieldErrorType.Invalid, "can only be set when seccomp type is Localhost", json));
        }
    }

    private static void ValidateSysctls(List<Sysctl>? sysctls, bool hostNetwork, string path, List<FieldError> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (sysctls?.Count ?? 0); i++)
        {
            var name = sysctls![i].Name;
            var namePath = $"{path}[{i}].name";
            if (string.IsNullOrEmpty(name))
            {
                errors.Add(FieldError.Required(namePath));
            }
            else if (!IsValidSysctlName(name))
            {
                errors.Add(FieldError.Invalid(namePath, name, $"must have at most {SysctlMaxLength} characters and match regex {SysctlPattern}"));
            }
            else if (!names.Add(name))
            {
                errors.Add(FieldError.Duplicate(namePath, name));
            }

            if (hostNetwork && name.Replace('/', '.').StartsWith("net.", StringComparison.Ordinal))
            {
                errors.Add(FieldError.Invalid(namePath, name, "may not be specified when 'hostNetwork' is true"));
            }
        }
    }

    /// <summary>Kubernetes reports these on the whole context, printing it as the bad value.</summary>
    private static FieldError InvalidContext(string path, SecurityContext context, string detail) =>
        new(path, FieldErrorType.Invalid, detail, JsonSerializer.Serialize(context, VergeJsonContext.Default.SecurityContext));
}
