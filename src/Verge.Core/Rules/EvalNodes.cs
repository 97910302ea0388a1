namespace Verge.Core.Rules;

/// <summary>The state one evaluation reads: extracted fields, the message's context, and for windows the group's keys and aggregates.</summary>
internal sealed class EvalFrame
{
    public EvalFrame(int fields, int keys, int aggregates)
    {
        Fields = new RuleValue[fields];
        Keys = new RuleValue[keys];
        Aggregates = new RuleValue[aggregates];
    }

    public RuleValue[] Fields { get; }

    public RuleValue[] Keys { get; }

    public RuleValue[] Aggregates { get; }

    public string Topic { get; set; } = "";

    public string ClientId { get; set; } = "";

    public long TimestampMs { get; set; }

    /// <summary>The message is a redelivery its sender marked as such (the MQTT DUP flag).</summary>
    public bool Duplicate { get; set; }
}

/// <summary>A compiled expression: a tree of small nodes evaluated with virtual calls, no allocation for numbers.</summary>
internal abstract class EvalNode
{
    public abstract RuleValue Eval(EvalFrame frame);

    protected static double NumberOf(RuleValue value, string what)
    {
        if (value.Kind != RuleValueKind.Number)
        {
            throw new RuleEvaluationException($"{what} needs a number, got {value.TypeName}");
        }

        return value.Number;
    }
}

internal sealed class ConstNode(RuleValue value) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame) => value;
}

internal sealed class FieldNode(int slot) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame) => frame.Fields[slot];
}

internal sealed class KeyNode(int index) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame) => frame.Keys[index];
}

internal sealed class AggregateNode(int index) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame) => frame.Aggregates[index];
}

internal sealed class NegateNode(EvalNode operand) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame)
    {
        var value = operand.Eval(frame);
        return value.IsNull ? RuleValue.Null : RuleValue.FromNumber(-NumberOf(value, "'-'"));
    }
}

internal sealed class NotNode(EvalNode operand) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame)
    {
        var value = operand.Eval(frame);
        if (value.IsNull)
        {
            return RuleValue.Null;
        }

        return value.Kind == RuleValueKind.Bool
            ? RuleValue.FromBool(value.Number == 0)
            : throw new RuleEvaluationException($"NOT needs a boolean, got {value.TypeName}");
    }
}

internal sealed class ArithmeticNode(BinaryOperator op, EvalNode left, EvalNode right) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame)
    {
        var a = left.Eval(frame);
        var b = right.Eval(frame);
        if (a.IsNull || b.IsNull)
        {
            return RuleValue.Null;
        }

        if (a.Kind != RuleValueKind.Number || b.Kind != RuleValueKind.Number)
        {
            throw new RuleEvaluationException($"cannot apply '{BinaryExpression.Symbol(op)}' to {a.TypeName} and {b.TypeName}");
        }

        var x = a.Number;
        var y = b.Number;
        if (op is BinaryOperator.Divide or BinaryOperator.Modulo && y == 0)
        {
            throw new RuleEvaluationException("division by zero");
        }

        var result = op switch
        {
            BinaryOperator.Add => x + y,
            BinaryOperator.Subtract => x - y,
            BinaryOperator.Multiply => x * y,
            BinaryOperator.Divide => x / y,
            _ => x % y,
        };
        return double.IsFinite(result)
            ? RuleValue.FromNumber(result)
            : throw new RuleEvaluationException($"'{BinaryExpression.Symbol(op)}' is not a finite number");
    }
}

/// <summary>
/// Comparisons: null on either side gives null; numbers and strings (ordinal) order; values of different types are
/// unequal and cannot be ordered (an error).
/// </summary>
internal sealed class CompareNode(BinaryOperator op, EvalNode left, EvalNode right) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame)
    {
        var a = left.Eval(frame);
        var b = right.Eval(frame);
        if (a.IsNull || b.IsNull)
        {
            return RuleValue.Null;
        }

        if (op is BinaryOperator.Equal or BinaryOperator.NotEqual)
        {
            return RuleValue.FromBool(a.Equals(b) == (op == BinaryOperator.Equal));
        }

        int order;
        if (a.Kind == RuleValueKind.Number && b.Kind == RuleValueKind.Number)
        {
            order = a.Number.CompareTo(b.Number);
        }
        else if (a.Kind == RuleValueKind.String && b.Kind == RuleValueKind.String)
        {
            order = a.Text.Span.SequenceCompareTo(b.Text.Span);
        }
        else
        {
            throw new RuleEvaluationException($"cannot compare {a.TypeName} and {b.TypeName} with '{BinaryExpression.Symbol(op)}'");
        }

        return RuleValue.FromBool(op switch
        {
            BinaryOperator.Less => order < 0,
            BinaryOperator.LessOrEqual => order <= 0,
            BinaryOperator.Greater => order > 0,
            _ => order >= 0,
        });
    }
}

/// <summary>AND and OR with SQL's three-valued logic, short-circuiting where the result is decided.</summary>
internal sealed class LogicNode(bool isAnd, EvalNode left, EvalNode right) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame)
    {
        var a = Check(left.Eval(frame));
        if (!a.IsNull && (a.Number != 0) != isAnd)
        {
            return a;
        }

        var b = Check(right.Eval(frame));
        if (!b.IsNull && (b.Number != 0) != isAnd)
        {
            return b;
        }

        return a.IsNull || b.IsNull ? RuleValue.Null : RuleValue.FromBool(isAnd);
    }

    private RuleValue Check(RuleValue value) => value.IsNull || value.Kind == RuleValueKind.Bool
        ? value
        : throw new RuleEvaluationException($"{(isAnd ? "AND" : "OR")} needs booleans, got {value.TypeName}");
}

internal sealed class IsNullNode(EvalNode operand, bool negated) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame) => RuleValue.FromBool(operand.Eval(frame).IsNull != negated);
}

internal sealed class TopicNode(int level) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame)
    {
        if (level == 0)
        {
            return RuleValue.FromString(frame.Topic);
        }

        return TopicFilter.TryGetLevel(frame.Topic, level, out var segment) ? RuleValue.FromText(segment) : RuleValue.Null;
    }
}

internal sealed class ClientIdNode : EvalNode
{
    public override RuleValue Eval(EvalFrame frame) => RuleValue.FromString(frame.ClientId);
}

internal sealed class DupNode : EvalNode
{
    public override RuleValue Eval(EvalFrame frame) => RuleValue.FromBool(frame.Duplicate);
}

internal sealed class TimestampNode : EvalNode
{
    public override RuleValue Eval(EvalFrame frame) => RuleValue.FromNumber(frame.TimestampMs);
}

/// <summary>abs, floor, ceil and round(x[, digits]) (midpoints away from zero).</summary>
internal sealed class MathNode(string name, EvalNode operand, EvalNode? digits) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame)
    {
        var value = operand.Eval(frame);
        if (value.IsNull)
        {
            return RuleValue.Null;
        }

        var x = NumberOf(value, name + "()");
        switch (name)
        {
            case "abs":
                return RuleValue.FromNumber(Math.Abs(x));
            case "floor":
                return RuleValue.FromNumber(Math.Floor(x));
            case "ceil":
                return RuleValue.FromNumber(Math.Ceiling(x));
            default:
                var places = 0;
                if (digits is not null)
                {
                    var d = digits.Eval(frame);
                    if (d.IsNull)
                    {
                        return RuleValue.Null;
                    }

                    var n = NumberOf(d, "the digits of round()");
                    if (n != Math.Floor(n) || n < 0 || n > 15)
                    {
                        throw new RuleEvaluationException("the digits of round() must be a whole number from 0 to 15");
                    }

                    places = (int)n;
                }

                return RuleValue.FromNumber(Math.Round(x, places, MidpointRounding.AwayFromZero));
        }
    }
}

internal sealed class CaseNode(bool upper, EvalNode operand) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame)
    {
        var value = operand.Eval(frame);
        if (value.IsNull)
        {
            return RuleValue.Null;
        }

        if (value.Kind != RuleValueKind.String)
        {
            throw new RuleEvaluationException($"{(upper ? "upper" : "lower")}() needs a string, got {value.TypeName}");
        }

        var text = value.Text.ToString();
        return RuleValue.FromString(upper ? text.ToUpperInvariant() : text.ToLowerInvariant());
    }
}

/// <summary>concat: the text of each argument, nulls skipped.</summary>
internal sealed class ConcatNode(EvalNode[] arguments) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame)
    {
        var builder = new System.Text.StringBuilder();
        foreach (var argument in arguments)
        {
            builder.Append(argument.Eval(frame).ToText());
        }

        return RuleValue.FromString(builder.ToString());
    }
}

internal sealed class CoalesceNode(EvalNode[] arguments) : EvalNode
{
    public override RuleValue Eval(EvalFrame frame)
    {
        foreach (var argument in arguments)
        {
            var value = argument.Eval(frame);
            if (!value.IsNull)
            {
                return value;
            }
        }

        return RuleValue.Null;
    }
}
