using System.Globalization;
using System.Text;

namespace Verge.Core.Rules;

/// <summary>An expression of a rule statement, with the 1-based column where it starts.</summary>
public abstract record RuleExpression(int Position)
{
    /// <summary>A canonical rendering: equal for expressions that mean the same (used to match GROUP BY items).</summary>
    public abstract string Canonical { get; }

    /// <summary>The direct sub-expressions.</summary>
    public virtual IEnumerable<RuleExpression> Children => [];
}

/// <summary>A literal: a double, a string, a bool or null.</summary>
public sealed record LiteralExpression(int Position, object? Value) : RuleExpression(Position)
{
    public override string Canonical => Value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        string s => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'",
        _ => Value.ToString() ?? "null",
    };
}

/// <summary>One step of a field path: a property name, or an array index when <see cref="Name"/> is null.</summary>
public readonly record struct PathSegment(string? Name, int Index);

/// <summary>A field of the payload: <c>a.b.c</c>, <c>a[0].b</c>, <c>"odd name".x</c>.</summary>
public sealed record FieldExpression(int Position, IReadOnlyList<PathSegment> Path) : RuleExpression(Position)
{
    public override string Canonical
    {
        get
        {
            var builder = new StringBuilder();
            foreach (var segment in Path)
            {
                if (segment.Name is null)
                {
                    builder.Append('[').Append(segment.Index.ToString(CultureInfo.InvariantCulture)).Append(']');
                }
                else
                {
                    if (builder.Length > 0)
                    {
                        builder.Append('.');
                    }

                    builder.Append('"').Append(segment.Name.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
                }
            }

            return builder.ToString();
        }
    }

    /// <summary>The output name of a projection of this field: its last property name.</summary>
    public string? LastName => Path.LastOrDefault(s => s.Name is not null).Name;
}

public enum UnaryOperator
{
    Negate,
    Not,
}

public sealed record UnaryExpression(int Position, UnaryOperator Operator, RuleExpression Operand) : RuleExpression(Position)
{
    public override string Canonical => Operator == UnaryOperator.Not ? $"(NOT {Operand.Canonical})" : $"(-{Operand.Canonical})";

    public override IEnumerable<RuleExpression> Children => [Operand];
}

public enum BinaryOperator
{
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    And,
    Or,
}

public sealed record BinaryExpression(int Position, BinaryOperator Operator, RuleExpression Left, RuleExpression Right) : RuleExpression(Position)
{
    public override string Canonical => $"({Left.Canonical} {Symbol(Operator)} {Right.Canonical})";

    public override IEnumerable<RuleExpression> Children => [Left, Right];

    public static string Symbol(BinaryOperator op) => op switch
    {
        BinaryOperator.Add => "+",
        BinaryOperator.Subtract => "-",
        BinaryOperator.Multiply => "*",
        BinaryOperator.Divide => "/",
        BinaryOperator.Modulo => "%",
        BinaryOperator.Equal => "=",
        BinaryOperator.NotEqual => "!=",
        BinaryOperator.Less => "<",
        BinaryOperator.LessOrEqual => "<=",
        BinaryOperator.Greater => ">",
        BinaryOperator.GreaterOrEqual => ">=",
        BinaryOperator.And => "AND",
        _ => "OR",
    };
}

/// <summary><c>x IS NULL</c> or <c>x IS NOT NULL</c>.</summary>
public sealed record IsNullExpression(int Position, RuleExpression Operand, bool Negated) : RuleExpression(Position)
{
    public override string Canonical => Negated ? $"({Operand.Canonical} IS NOT NULL)" : $"({Operand.Canonical} IS NULL)";

    public override IEnumerable<RuleExpression> Children => [Operand];
}

/// <summary>A function or aggregate call; <see cref="Name"/> is lower case; <see cref="Star"/> for <c>count(*)</c>.</summary>
public sealed record CallExpression(int Position, string Name, IReadOnlyList<RuleExpression> Arguments, bool Star) : RuleExpression(Position)
{
    public override string Canonical => Star ? $"{Name}(*)" : $"{Name}({string.Join(", ", Arguments.Select(a => a.Canonical))})";

    public override IEnumerable<RuleExpression> Children => Arguments;

    public bool IsAggregate => RuleFunctions.IsAggregate(Name);
}

/// <summary>One item of the SELECT list: <c>*</c>, or an expression with its output name.</summary>
public sealed record RuleProjection(int Position, RuleExpression? Expression, string Name)
{
    public bool IsStar => Expression is null;
}

public enum RuleWindowKind
{
    Tumbling,
    Sliding,
}

/// <summary>A time window: tumbling (hop equals size) or sliding (a window of <see cref="Size"/> every <see cref="Hop"/>).</summary>
public sealed record RuleWindow(int Position, RuleWindowKind Kind, TimeSpan Size, TimeSpan Hop);
