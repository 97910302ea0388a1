namespace Verge.Core.Rules;

/// <summary>
/// The set of rules a gateway runs: every message goes through each rule whose topic filter matches. Rules are
/// added, replaced (state reset) and removed at run time. Not thread-safe: one pipeline loop calls it; counters may
/// be read from anywhere.
/// </summary>
public sealed class RuleEngine
{
    private readonly RuleLimits _limits;
    private readonly Dictionary<string, CompiledRule> _byName = new(StringComparer.Ordinal);
    private CompiledRule[] _rules = [];

    public RuleEngine(RuleLimits? limits = null)
    {
        _limits = limits ?? new RuleLimits();
        _limits.Validate();
    }

    public IReadOnlyCollection<string> RuleNames => _byName.Keys;

    /// <summary>Adds or replaces a rule; throws <see cref="RuleSyntaxException"/> if the statement is invalid.</summary>
    public CompiledRule AddOrUpdate(string name, string statement) => AddOrUpdate(name, RuleStatement.Parse(statement));

    public CompiledRule AddOrUpdate(string name, RuleStatement statement)
    {
        var rule = CompiledRule.Compile(name, statement, _limits);
        _byName[name] = rule;
        _rules = [.. _byName.Values];
        return rule;
    }

    public bool Remove(string name)
    {
        if (!_byName.Remove(name))
        {
            return false;
        }

        _rules = [.. _byName.Values];
        return true;
    }

    public CompiledRule? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>
    /// Runs one message through every matching rule; appends outputs and returns how many. <paramref name="duplicate"/>
    /// is the sender's redelivery mark (the MQTT DUP flag), which statements read with <c>dup()</c>.
    /// </summary>
    public int Process(string topic, ReadOnlySpan<byte> payload, string clientId, DateTimeOffset receivedAt, ICollection<RuleOutput> outputs, bool duplicate = false)
    {
        var added = 0;
        foreach (var rule in _rules)
        {
            added += rule.Process(topic, payload, clientId, receivedAt, outputs, duplicate);
        }

        return added;
    }

    /// <summary>Runs one message through every matching rule and returns the outputs.</summary>
    public List<RuleOutput> Process(string topic, ReadOnlySpan<byte> payload, string clientId, DateTimeOffset receivedAt)
    {
        var outputs = new List<RuleOutput>();
        Process(topic, payload, clientId, receivedAt, outputs);
        return outputs;
    }

    /// <summary>Closes the windows of every rule that end at or before <paramref name="now"/>; call it on a timer.</summary>
    public int Advance(DateTimeOffset now, ICollection<RuleOutput> outputs)
    {
        var added = 0;
        foreach (var rule in _rules)
        {
            added += rule.Advance(now, outputs);
        }

        return added;
    }
}
