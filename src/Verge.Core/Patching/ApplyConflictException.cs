namespace Verge.Core.Patching;

/// <summary>
/// One field that a server-side apply would change although another manager owns it.
/// <paramref name="Field"/> is printed as Kubernetes prints it, such as <c>.spec.replicas</c> or
/// <c>.spec.template.spec.containers[name="a"].image</c>.
/// </summary>
public sealed record ApplyConflict(string Manager, string Operation, string? ApiVersion, string? Subresource, string Field)
{
    /// <summary>The manager as Kubernetes names it in messages: <c>"kubectl" using apps/v1</c> for an Update manager.</summary>
    public string ManagerDescription
    {
        get
        {
            var text = $"\"{Manager}\"";
            if (!string.IsNullOrEmpty(Subresource))
            {
                text += $" with subresource \"{Subresource}\"";
            }

            return Operation == "Update" ? $"{text} using {ApiVersion}" : text;
        }
    }

    /// <summary>The <c>StatusCause.message</c> of this conflict.</summary>
    public string Message => $"conflict with {ManagerDescription}";
}

/// <summary>
/// A server-side apply that would change fields other managers own. The API server answers 409 Conflict with one
/// <c>FieldManagerConflict</c> cause per entry of <see cref="Conflicts"/>; the applier may retry with force.
/// </summary>
public sealed class ApplyConflictException : Exception
{
    public ApplyConflictException()
        : this([])
    {
    }

    public ApplyConflictException(string message)
        : base(message)
    {
        Conflicts = [];
    }

    public ApplyConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
        Conflicts = [];
    }

    public ApplyConflictException(IReadOnlyList<ApplyConflict> conflicts)
        : base(Describe(conflicts))
    {
        Conflicts = conflicts;
    }

    public IReadOnlyList<ApplyConflict> Conflicts { get; }

    private static string Describe(IReadOnlyList<ApplyConflict> conflicts)
    {
        ArgumentNullException.ThrowIfNull(conflicts);
        if (conflicts.Count == 1)
        {
            return $"Apply failed with 1 conflict: {conflicts[0].Message}: {conflicts[0].Field}";
        }

        var lines = conflicts
            .GroupBy(c => c.ManagerDescription, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .SelectMany(g => g.Select(c => $"- {c.Field}").Prepend($"conflicts with {g.Key}:"));
        return $"Apply failed with {conflicts.Count} conflicts: {string.Join('\n', lines)}";
    }
}
