using System.Globalization;

namespace Verge.Core.Rules;

/// <summary>
/// A parsed and checked data-rule statement:
/// <c>SELECT projections FROM 'topic/filter' [WHERE condition] [GROUP BY keys, TUMBLING(10s) | SLIDING(1m, 10s)]</c>.
/// Pure: parsing does no I/O, so the API server validates statements with it and the gateway compiles it with
/// <see cref="CompiledRule.Compile"/>.
/// </summary>
public sealed class RuleStatement
{
    /// <summary>The longest statement accepted, in characters.</summary>
    public const int MaxLength = 16 * 1024;

    private RuleStatement(string text, IReadOnlyList<RuleProjection> projections, TopicFilter from, RuleExpression? where,
        IReadOnlyList<RuleExpression> groupBy, RuleWindow? window)
    {
        Text = text;
        Projections = projections;
        From = from;
        Where = where;
        GroupBy = groupBy;
        Window = window;
    }

    public string Text { get; }

    public IReadOnlyList<RuleProjection> Projections { get; }

    public TopicFilter From { get; }

    public RuleExpression? Where { get; }

    /// <summary>The grouping keys, without the window.</summary>
    public IReadOnlyList<RuleExpression> GroupBy { get; }

    public RuleWindow? Window { get; }

    /// <summary>Whether the statement aggregates over windows (it has a window and keeps state per group).</summary>
    public bool IsWindowed => Window is not null;

    /// <summary>Parses and checks a statement, or throws <see cref="RuleSyntaxException"/> with the column and reason.</summary>
    public static RuleStatement Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new RuleSyntaxException(1, "statement is empty");
        }

        if (text.Length > MaxLength)
        {
            throw new RuleSyntaxException(MaxLength + 1, $"statement is longer than {MaxLength} characters");
        }

        var parsed = RuleParser.Parse(text);
        var from = TopicFilter.TryParse(parsed.Topic.Text, out var topicError, out var offset)
            ?? throw new RuleSyntaxException(parsed.Topic.Position + 1 + offset, topicError!);
        var statement = new RuleStatement(text, parsed.Projections, from, parsed.Where, parsed.GroupBy, parsed.Window);
        statement.Check();
        return statement;
    }

    /// <summary>Parses a statement; on failure returns false with the exception describing the problem.</summary>
    public static bool TryParse(string text, out RuleStatement? statement, out RuleSyntaxException? error)
    {
        try
        {
            statement = Parse(text);
            error = null;
            return true;
        }
        catch (RuleSyntaxException e)
        {
            statement = null;
            error = e;
            return false;
        }
    }

    public override string ToString() => Text;

    private void Check()
    {
        foreach (var projection in Projections)
        {
            if (projection.Expression is { } expression)
            {
                CheckCalls(expression, allowAggregates: true, insideAggregate: null);
            }
        }

        if (Where is not null)
        {
            CheckCalls(Where, allowAggregates: false, insideAggregate: null, clause: "WHERE");
        }

        foreach (var key in GroupBy)
        {
            CheckCalls(key, allowAggregates: false, insideAggregate: null, clause: "GROUP BY");
        }

        if (Window is { } window)
        {
            if (window.Hop > window.Size)
            {
                throw new RuleSyntaxException(window.Position, "the hop of a SLIDING window must not be longer than its size");
            }

            if (window.Size.Ticks % window.Hop.Ticks != 0)
            {
                throw new RuleSyntaxException(window.Position, "the size of a SLIDING window must be a whole multiple of its hop");
            }
        }

        var aggregate = Projections.Where(p => p.Expression is not null).SelectMany(p => Walk(p.Expression!)).OfType<CallExpression>().FirstOrDefault(c => c.IsAggregate);
        if (Window is null)
        {
            if (GroupBy.Count > 0)
            {
                throw new RuleSyntaxException(GroupBy[0].Position, "GROUP BY needs a window as its last item: TUMBLING(size) or SLIDING(size, hop)");
            }

            if (aggregate is not null)
            {
                throw new RuleSyntaxException(aggregate.Position,
                    $"aggregate '{aggregate.Name}' needs GROUP BY with a window, such as GROUP BY TUMBLING(10s)");
            }
        }
        else
        {
            var keys = GroupBy.Select(k => k.Canonical).ToHashSet(StringComparer.Ordinal);
            foreach (var projection in Projections)
            {
                if (projection.Expression is null)
                {
                    throw new RuleSyntaxException(projection.Position, "'*' cannot be used with GROUP BY; name the fields or aggregates");
                }

                CheckGrouped(projection.Expression, keys);
            }
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var projection in Projections)
        {
            if (!projection.IsStar && !names.Add(projection.Name))
            {
                throw new RuleSyntaxException(projection.Position, $"duplicate output name '{projection.Name}'; give it another name with AS");
            }
        }
    }

    private void CheckCalls(RuleExpression expression, bool allowAggregates, CallExpression? insideAggregate, string? clause = null)
    {
        if (expression is CallExpression call)
        {
            if (!RuleFunctions.TryGetArity(call.Name, out var min, out var max))
            {
                throw new RuleSyntaxException(call.Position, $"unknown function '{call.Name}'");
            }

            var count = call.Star ? 1 : call.Arguments.Count;
            if (count < min || count > max)
            {
                var expected = min == max
                    ? (min == 1 ? "1 argument" : $"{min} arguments")
                    : max == int.MaxValue ? $"at least {min} argument{(min == 1 ? "" : "s")}" : $"{min} to {max} arguments";
                throw new RuleSyntaxException(call.Position, $"function '{call.Name}' takes {expected}, got {count}");
            }

            if (call.IsAggregate)
            {
                if (!allowAggregates)
                {
                    throw new RuleSyntaxException(call.Position, $"aggregate '{call.Name}' is not allowed in {clause}");
                }

                if (insideAggregate is not null)
                {
                    throw new RuleSyntaxException(call.Position, $"aggregate '{call.Name}' cannot be used inside aggregate '{insideAggregate.Name}'");
                }

                insideAggregate = call;
            }

            if (call.Name == "topic" && call.Arguments.Count == 1)
            {
                CheckTopicLevel(call);
            }
        }

        foreach (var child in expression.Children)
        {
            CheckCalls(child, allowAggregates, insideAggregate, clause);
        }
    }

    private void CheckTopicLevel(CallExpression call)
    {
        var argument = call.Arguments[0];
        if (argument is not LiteralExpression { Value: double level } || level != Math.Floor(level) || level < 1)
        {
            throw new RuleSyntaxException(argument.Position, "topic(n) takes a level number from 1, such as topic(2)");
        }

        if (!From.HasMultiLevelWildcard && level > From.Levels)
        {
            throw new RuleSyntaxException(argument.Position,
                $"topic({level.ToString(CultureInfo.InvariantCulture)}) is beyond the {From.Levels} level{(From.Levels == 1 ? "" : "s")} of '{From.Text}'");
        }
    }

    private static void CheckGrouped(RuleExpression expression, HashSet<string> keys)
    {
        if (keys.Contains(expression.Canonical) || expression is CallExpression { IsAggregate: true })
        {
            return;
        }

        if (expression is FieldExpression || expression is CallExpression call && RuleFunctions.IsContext(call.Name))
        {
            throw new RuleSyntaxException(expression.Position,
                $"'{Describe(expression)}' must appear in GROUP BY or be used inside an aggregate");
        }

        foreach (var child in expression.Children)
        {
            CheckGrouped(child, keys);
        }
    }

    private static string Describe(RuleExpression expression) => expression switch
    {
        FieldExpression field when field.Path.All(s => s.Name is not null && IsPlainName(s.Name)) => string.Join('.', field.Path.Select(s => s.Name)),
        CallExpression call => call.Name + "(" + string.Join(", ", call.Arguments.Select(Describe)) + ")",
        LiteralExpression literal => literal.Canonical,
        _ => expression.Canonical,
    };

    private static bool IsPlainName(string name) => name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    internal static IEnumerable<RuleExpression> Walk(RuleExpression expression)
    {
        yield return expression;
        foreach (var child in expression.Children)
        {
            foreach (var descendant in Walk(child))
            {
                yield return descendant;
            }
        }
    }
}
