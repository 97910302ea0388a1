namespace Verge.Core.Rules;

/// <summary>The functions and aggregates a statement may call, with their argument counts.</summary>
internal static class RuleFunctions
{
    private static readonly Dictionary<string, (int Min, int Max)> Scalars = new(StringComparer.Ordinal)
    {
        ["topic"] = (0, 1),
        ["clientid"] = (0, 0),
        ["timestamp"] = (0, 0),
        ["dup"] = (0, 0),
        ["abs"] = (1, 1),
        ["round"] = (1, 2),
        ["floor"] = (1, 1),
        ["ceil"] = (1, 1),
        ["lower"] = (1, 1),
        ["upper"] = (1, 1),
        ["concat"] = (1, int.MaxValue),
        ["coalesce"] = (1, int.MaxValue),
    };

    private static readonly HashSet<string> Aggregates = new(StringComparer.Ordinal) { "count", "sum", "avg", "min", "max", "first", "last" };

    public static bool IsAggregate(string name) => Aggregates.Contains(name);

    /// <summary>Functions whose value comes from the message's context rather than its payload.</summary>
    public static bool IsContext(string name) => name is "topic" or "clientid" or "timestamp" or "dup";

    public static bool TryGetArity(string name, out int min, out int max)
    {
        if (Aggregates.Contains(name))
        {
            (min, max) = (1, 1);
            return true;
        }

        if (Scalars.TryGetValue(name, out var arity))
        {
            (min, max) = arity;
            return true;
        }

        (min, max) = (0, 0);
        return false;
    }
}
