using System.Buffers;
using System.Text.Json;

namespace Verge.Core.Rules;

/// <summary>Limits that keep one rule's memory bounded.</summary>
public sealed record RuleLimits
{
    /// <summary>Groups kept per window pane; a message opening a group beyond this counts as an error.</summary>
    public int MaxGroups { get; init; } = 100_000;

    public void Validate()
    {
        if (MaxGroups < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxGroups), MaxGroups, "must be at least 1");
        }
    }
}

/// <summary>
/// One statement compiled for evaluation, with its window state and counters. Not thread-safe: one caller at a time
/// (the gateway runs each rule on one pipeline loop).
/// <para>
/// Stateless statements produce at most one output per message from <see cref="Process"/>. Windowed statements keep
/// accumulators per group key and pane (a pane is one hop long; a tumbling window is one pane, a sliding window is
/// size/hop panes), and emit one output per group when a window closes, which happens when time reaches its end:
/// in <see cref="Process"/> for the message's arrival time, or in <see cref="Advance"/>. Event time is arrival time;
/// time never goes backwards: a message that arrives with an earlier time than already seen counts at the latest time.
/// Windows are aligned to the Unix epoch.
/// </para>
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The Utf8JsonWriter writes to an ArrayBufferWriter and holds nothing to release.")]
public sealed class CompiledRule
{
    private readonly TopicFilter _filter;
    private readonly FieldExtractor _extractor = new();
    private readonly bool[] _required;
    private readonly bool _needsJson;
    private readonly EvalFrame _frame;
    private readonly EvalNode? _where;
    private readonly EvalNode[] _keys;
    private readonly AggregateSpec[] _aggregates;
    private readonly OutputColumn[] _columns;
    private readonly ArrayBufferWriter<byte> _buffer = new(256);
    private readonly Utf8JsonWriter _writer;
    private readonly RuleLimits _limits;

    // Window state: panes by index (time / hop), each holding accumulators per group key.
    private readonly long _hopMs;
    private readonly int _panesPerWindow;
    private readonly SortedDictionary<long, Dictionary<GroupKey, Accumulator[]>> _panes = [];
    private long _closedThrough = long.MinValue;
    private long _watermarkMs = long.MinValue;
    private long _currentPane = long.MinValue;
    private Dictionary<GroupKey, Accumulator[]>? _current;

    private CompiledRule(string name, RuleStatement statement, RuleLimits limits)
    {
        Name = name;
        Statement = statement;
        _limits = limits;
        _filter = statement.From;
        _writer = new Utf8JsonWriter(_buffer);

        var compiler = new Compiler(_extractor, statement.GroupBy);
        _where = statement.Where is null ? null : compiler.Compile(statement.Where, grouped: false, optional: false);
        _keys = statement.GroupBy.Select(k => compiler.Compile(k, grouped: false, optional: false)).ToArray();
        _columns = statement.Projections
            .Select(p => new OutputColumn(JsonEncodedText.Encode(p.Name), p.Expression is null ? null : compiler.Compile(p.Expression, statement.IsWindowed, optional: false)))
            .ToArray();
        _aggregates = compiler.Aggregates.ToArray();
        _required = compiler.Required.ToArray();
        _needsJson = _required.Length > 0 || _columns.Any(c => c.Value is null);
        _frame = new EvalFrame(_required.Length, _keys.Length, _aggregates.Length);
        if (statement.Window is { } window)
        {
            _hopMs = (long)window.Hop.TotalMilliseconds;
            _panesPerWindow = (int)(window.Size.Ticks / window.Hop.Ticks);
        }
    }

    public string Name { get; }

    public RuleStatement Statement { get; }

    public RuleCounters Counters { get; } = new();

    /// <summary>Open groups across all panes (windowed rules).</summary>
    public int OpenGroups => _panes.Values.Sum(p => p.Count);

    public static CompiledRule Compile(string name, RuleStatement statement, RuleLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(statement);
        limits ??= new RuleLimits();
        limits.Validate();
        return new CompiledRule(name, statement, limits);
    }

    public bool Matches(string topic) => _filter.Matches(topic);

    /// <summary>
    /// Runs one message through the rule and appends any outputs (the message's own result for a stateless rule;
    /// windows closed by <paramref name="receivedAt"/> for a windowed one). Returns the number appended. Never throws
    /// for bad payloads: they are counted. <paramref name="duplicate"/> is the sender's redelivery mark (MQTT DUP),
    /// read by <c>dup()</c>.
    /// </summary>
    public int Process(string topic, ReadOnlySpan<byte> payload, string clientId, DateTimeOffset receivedAt, ICollection<RuleOutput> outputs, bool duplicate = false)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(outputs);
        if (!_filter.Matches(topic))
        {
            return 0;
        }

        var added = 0;
        var now = receivedAt.ToUnixTimeMilliseconds();
        if (Statement.IsWindowed)
        {
            now = Math.Max(now, _watermarkMs);
            added = Advance(now, outputs);
        }

        Counters.AddMatched();
        var frame = _frame;
        if (_needsJson)
        {
            if (!_extractor.TryExtract(payload, frame.Fields))
            {
                Counters.AddSkippedNonJson();
                return added;
            }

            for (var i = 0; i < _required.Length; i++)
            {
                if (_required[i] && frame.Fields[i].Kind == RuleValueKind.Missing)
                {
                    Counters.AddSkippedMissingField();
                    return added;
                }
            }
        }

        frame.Topic = topic;
        frame.ClientId = clientId ?? "";
        frame.TimestampMs = now;
        frame.Duplicate = duplicate;
        try
        {
            if (_where is not null && !_where.Eval(frame).IsTrue)
            {
                Counters.AddFiltered();
                return added;
            }

            if (Statement.IsWindowed)
            {
                Accumulate(now);
                return added;
            }

            _buffer.ResetWrittenCount();
            _writer.Reset(_buffer);
            _writer.WriteStartObject();
            foreach (var column in _columns)
            {
                if (column.Value is null)
                {
                    WriteStar(payload);
                    continue;
                }

                _writer.WritePropertyName(column.Name);
                column.Value.Eval(frame).WriteTo(_writer);
            }

            _writer.WriteEndObject();
            _writer.Flush();
            outputs.Add(new RuleOutput(Name, _buffer.WrittenSpan.ToArray()));
            Counters.AddEmitted();
            return added + 1;
        }
        catch (RuleEvaluationException e)
        {
            Counters.AddError(e.Message);
            return added;
        }
    }

    /// <summary>Closes every window that ends at or before <paramref name="now"/> and appends one output per group.</summary>
    public int Advance(DateTimeOffset now, ICollection<RuleOutput> outputs) =>
        Statement.IsWindowed ? Advance(Math.Max(now.ToUnixTimeMilliseconds(), _watermarkMs), outputs) : 0;

    private int Advance(long nowMs, ICollection<RuleOutput> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        _watermarkMs = nowMs;
        var lastEnd = FloorDiv(nowMs, _hopMs);
        if (lastEnd <= _closedThrough)
        {
            return 0;
        }

        var added = 0;
        var n = _panesPerWindow;
        while (_panes.Count > 0)
        {
            var first = _panes.First().Key;
            var end = Math.Max(_closedThrough + 1, first + 1);
            if (end > lastEnd)
            {
                break;
            }

            added += EmitWindow(end, outputs);
            _closedThrough = end;
            while (_panes.Count > 0 && _panes.First().Key <= end - n)
            {
                _panes.Remove(_panes.First().Key);
            }
        }

        _closedThrough = lastEnd;
        if (_currentPane < lastEnd - n + 1 || !_panes.ContainsKey(_currentPane))
        {
            _current = null;
            _currentPane = long.MinValue;
        }

        return added;
    }

    private int EmitWindow(long end, ICollection<RuleOutput> outputs)
    {
        Dictionary<GroupKey, Accumulator[]>? groups;
        if (_panesPerWindow == 1)
        {
            _panes.TryGetValue(end - 1, out groups);
        }
        else
        {
            groups = null;
            for (var pane = end - _panesPerWindow; pane < end; pane++)
            {
                if (!_panes.TryGetValue(pane, out var paneGroups))
                {
                    continue;
                }

                groups ??= [];
                foreach (var (key, accumulators) in paneGroups)
                {
                    if (!groups.TryGetValue(key, out var merged))
                    {
                        merged = new Accumulator[accumulators.Length];
                        groups[key] = merged;
                    }

                    for (var i = 0; i < merged.Length; i++)
                    {
                        merged[i].Merge(accumulators[i]);
                    }
                }
            }
        }

        if (groups is null)
        {
            return 0;
        }

        var added = 0;
        var frame = _frame;
        foreach (var (key, accumulators) in groups)
        {
            try
            {
                key.CopyTo(frame.Keys);
                for (var i = 0; i < _aggregates.Length; i++)
                {
                    frame.Aggregates[i] = accumulators[i].Result(_aggregates[i].Kind);
                }

                _buffer.ResetWrittenCount();
                _writer.Reset(_buffer);
                _writer.WriteStartObject();
                foreach (var column in _columns)
                {
                    _writer.WritePropertyName(column.Name);
                    column.Value!.Eval(frame).WriteTo(_writer);
                }

                _writer.WriteEndObject();
                _writer.Flush();
                outputs.Add(new RuleOutput(Name, _buffer.WrittenSpan.ToArray()));
                Counters.AddEmitted();
                added++;
            }
            catch (RuleEvaluationException e)
            {
                Counters.AddError(e.Message);
            }
        }

        return added;
    }

    private void Accumulate(long now)
    {
        var key = _keys.Length == 0 ? default : new GroupKey(_keys[0].Eval(_frame).AsKey(), RestOfKey());

        var pane = FloorDiv(now, _hopMs);
        if (pane != _currentPane || _current is null)
        {
            if (!_panes.TryGetValue(pane, out _current))
            {
                _current = [];
                _panes[pane] = _current;
            }

            _currentPane = pane;
        }

        if (!_current.TryGetValue(key, out var accumulators))
        {
            if (_current.Count >= _limits.MaxGroups)
            {
                throw new RuleEvaluationException($"more than {_limits.MaxGroups} groups in one window pane");
            }

            // Evaluate first so that a bad value leaves no empty group behind.
            accumulators = new Accumulator[_aggregates.Length];
            Update(accumulators);
            _current[key] = accumulators;
            return;
        }

        Update(accumulators);
    }

    private RuleValue[]? RestOfKey()
    {
        if (_keys.Length < 2)
        {
            return null;
        }

        var rest = new RuleValue[_keys.Length - 1];
        for (var i = 1; i < _keys.Length; i++)
        {
            rest[i - 1] = _keys[i].Eval(_frame).AsKey();
        }

        return rest;
    }

    private void Update(Accumulator[] accumulators)
    {
        var frame = _frame;
        // Evaluate every argument before touching the accumulators, so an error leaves the group as it was.
        var arguments = ArgumentScratch;
        for (var i = 0; i < _aggregates.Length; i++)
        {
            var spec = _aggregates[i];
            var value = spec.Argument is null ? RuleValue.True : spec.Argument.Eval(frame);
            if (spec.Kind is AggregateKind.Sum or AggregateKind.Avg or AggregateKind.Min or AggregateKind.Max
                && !value.IsNull && value.Kind != RuleValueKind.Number)
            {
                throw new RuleEvaluationException($"{spec.Kind.ToString().ToLowerInvariant()}() needs numbers, got {value.TypeName}");
            }

            arguments[i] = value;
        }

        for (var i = 0; i < _aggregates.Length; i++)
        {
            accumulators[i].Add(arguments[i]);
        }
    }

    private RuleValue[] ArgumentScratch => _argumentScratch ??= new RuleValue[_aggregates.Length];

    private RuleValue[]? _argumentScratch;

    private void WriteStar(ReadOnlySpan<byte> payload)
    {
        var reader = new Utf8JsonReader(payload);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new RuleEvaluationException("'*' needs a JSON object payload");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.HasValueSequence || reader.ValueIsEscaped ? reader.GetString()! : null;
            var nameSpan = reader.ValueSpan;
            reader.Read();
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            var end = (int)reader.BytesConsumed;
            if (name is null)
            {
                _writer.WritePropertyName(nameSpan);
            }
            else
            {
                _writer.WritePropertyName(name);
            }

            _writer.WriteRawValue(payload[start..end], skipInputValidation: true);
        }
    }

    private static long FloorDiv(long value, long divisor)
    {
        var quotient = value / divisor;
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
    }

    private sealed record OutputColumn(JsonEncodedText Name, EvalNode? Value);

    private sealed record AggregateSpec(AggregateKind Kind, EvalNode? Argument);

    private enum AggregateKind
    {
        Count,
        Sum,
        Avg,
        Min,
        Max,
        First,
        Last,
    }

    /// <summary>The running state of one aggregate over one group and pane; panes merge for sliding windows.</summary>
    private struct Accumulator
    {
        private long _count;
        private double _sum;
        private double _min;
        private double _max;
        private RuleValue _first;
        private RuleValue _last;

        public void Add(RuleValue value)
        {
            if (value.IsNull)
            {
                return;
            }

            if (_count == 0)
            {
                _first = value;
                _min = _max = value.Number;
            }
            else if (value.Kind == RuleValueKind.Number)
            {
                _min = Math.Min(_min, value.Number);
                _max = Math.Max(_max, value.Number);
            }

            _count++;
            _sum += value.Number;
            _last = value;
        }

        public void Merge(in Accumulator other)
        {
            if (other._count == 0)
            {
                return;
            }

            if (_count == 0)
            {
                this = other;
                return;
            }

            _count += other._count;
            _sum += other._sum;
            _min = Math.Min(_min, other._min);
            _max = Math.Max(_max, other._max);
            _last = other._last;
        }

        public readonly RuleValue Result(AggregateKind kind) => kind switch
        {
            AggregateKind.Count => RuleValue.FromNumber(_count),
            _ when _count == 0 => RuleValue.Null,
            AggregateKind.Sum => RuleValue.FromNumber(_sum),
            AggregateKind.Avg => RuleValue.FromNumber(_sum / _count),
            AggregateKind.Min => RuleValue.FromNumber(_min),
            AggregateKind.Max => RuleValue.FromNumber(_max),
            AggregateKind.First => _first,
            _ => _last,
        };
    }

    /// <summary>A group's key values: the first inline, any others in an array.</summary>
    private readonly struct GroupKey(RuleValue first, RuleValue[]? rest) : IEquatable<GroupKey>
    {
        private readonly RuleValue _first = first;
        private readonly RuleValue[]? _rest = rest;

        public void CopyTo(RuleValue[] keys)
        {
            if (keys.Length == 0)
            {
                return;
            }

            keys[0] = _first;
            _rest?.CopyTo(keys, 1);
        }

        public bool Equals(GroupKey other)
        {
            if (!_first.Equals(other._first))
            {
                return false;
            }

            if (_rest is null || other._rest is null)
            {
                return _rest is null && other._rest is null;
            }

            for (var i = 0; i < _rest.Length; i++)
            {
                if (!_rest[i].Equals(other._rest[i]))
                {
                    return false;
                }
            }

            return true;
        }

        public override bool Equals(object? obj) => obj is GroupKey other && Equals(other);

        public override int GetHashCode()
        {
            var hash = _first.GetHashCode();
            if (_rest is not null)
            {
                foreach (var value in _rest)
                {
                    hash = HashCode.Combine(hash, value.GetHashCode());
                }
            }

            return hash;
        }
    }

    /// <summary>Turns expressions into nodes, assigning field slots and aggregate slots as it goes.</summary>
    private sealed class Compiler(FieldExtractor extractor, IReadOnlyList<RuleExpression> groupBy)
    {
        private readonly Dictionary<string, int> _aggregateSlots = new(StringComparer.Ordinal);

        public List<bool> Required { get; } = [];

        public List<AggregateSpec> Aggregates { get; } = [];

        /// <summary>
        /// Compiles <paramref name="expression"/>. In a <paramref name="grouped"/> projection, GROUP BY expressions read
        /// the group's key and aggregates read the window's result. Fields under coalesce() or IS [NOT] NULL are
        /// <paramref name="optional"/>: a payload may lack them.
        /// </summary>
        public EvalNode Compile(RuleExpression expression, bool grouped, bool optional)
        {
            if (grouped)
            {
                for (var i = 0; i < groupBy.Count; i++)
                {
                    if (groupBy[i].Canonical == expression.Canonical)
                    {
                        return new KeyNode(i);
                    }
                }

                if (expression is CallExpression { IsAggregate: true } aggregate)
                {
                    return new AggregateNode(AggregateSlot(aggregate));
                }
            }

            switch (expression)
            {
                case LiteralExpression literal:
                    return new ConstNode(literal.Value switch
                    {
                        null => RuleValue.Null,
                        bool b => RuleValue.FromBool(b),
                        double d => RuleValue.FromNumber(d),
                        string s => RuleValue.FromString(s),
                        _ => RuleValue.Null,
                    });
                case FieldExpression field:
                    var slot = extractor.Add(field.Path, Required.Count);
                    if (slot == Required.Count)
                    {
                        Required.Add(!optional);
                    }
                    else if (!optional)
                    {
                        Required[slot] = true;
                    }

                    return new FieldNode(slot);
                case UnaryExpression unary:
                    var operand = Compile(unary.Operand, grouped, optional);
                    return unary.Operator == UnaryOperator.Not ? new NotNode(operand) : new NegateNode(operand);
                case BinaryExpression binary:
                    var left = Compile(binary.Left, grouped, optional);
                    var right = Compile(binary.Right, grouped, optional);
                    return binary.Operator switch
                    {
                        BinaryOperator.And => new LogicNode(true, left, right),
                        BinaryOperator.Or => new LogicNode(false, left, right),
                        BinaryOperator.Add or BinaryOperator.Subtract or BinaryOperator.Multiply or BinaryOperator.Divide or BinaryOperator.Modulo
                            => new ArithmeticNode(binary.Operator, left, right),
                        _ => new CompareNode(binary.Operator, left, right),
                    };
                case IsNullExpression isNull:
                    return new IsNullNode(Compile(isNull.Operand, grouped, optional: true), isNull.Negated);
                case CallExpression call:
                    return CompileCall(call, grouped, optional);
                default:
                    throw new InvalidOperationException($"unexpected expression {expression.GetType().Name}");
            }
        }

        private EvalNode CompileCall(CallExpression call, bool grouped, bool optional)
        {
            var arguments = call.Arguments.Select(a => Compile(a, grouped, optional || call.Name == "coalesce")).ToArray();
            return call.Name switch
            {
                "topic" => new TopicNode(call.Arguments.Count == 0 ? 0 : (int)(double)((LiteralExpression)call.Arguments[0]).Value!),
                "clientid" => new ClientIdNode(),
                "timestamp" => new TimestampNode(),
                "dup" => new DupNode(),
                "abs" or "floor" or "ceil" or "round" => new MathNode(call.Name, arguments[0], arguments.Length > 1 ? arguments[1] : null),
                "lower" => new CaseNode(false, arguments[0]),
                "upper" => new CaseNode(true, arguments[0]),
                "concat" => new ConcatNode(arguments),
                "coalesce" => new CoalesceNode(arguments),
                _ => throw new InvalidOperationException($"aggregate '{call.Name}' outside a windowed projection"),
            };
        }

        private int AggregateSlot(CallExpression call)
        {
            if (_aggregateSlots.TryGetValue(call.Canonical, out var slot))
            {
                return slot;
            }

            var kind = call.Name switch
            {
                "count" => AggregateKind.Count,
                "sum" => AggregateKind.Sum,
                "avg" => AggregateKind.Avg,
                "min" => AggregateKind.Min,
                "max" => AggregateKind.Max,
                "first" => AggregateKind.First,
                _ => AggregateKind.Last,
            };
            var argument = call.Star ? null : Compile(call.Arguments[0], grouped: false, optional: false);
            slot = Aggregates.Count;
            Aggregates.Add(new AggregateSpec(kind, argument));
            _aggregateSlots[call.Canonical] = slot;
            return slot;
        }
    }
}
