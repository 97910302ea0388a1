namespace Verge.Core.Rules;

/// <summary>
/// What a rule did with the messages it saw. Written by the one thread that runs the rule, readable from any.
/// </summary>
public sealed class RuleCounters
{
    private long _matched;
    private long _filtered;
    private long _skippedNonJson;
    private long _skippedMissingField;
    private long _errors;
    private long _emitted;
    private string? _lastError;

    /// <summary>Messages whose topic matched the rule's filter.</summary>
    public long Matched => Volatile.Read(ref _matched);

    /// <summary>Matched messages the WHERE condition did not pass (false or null).</summary>
    public long Filtered => Volatile.Read(ref _filtered);

    /// <summary>Matched messages skipped because the payload is not one valid JSON value.</summary>
    public long SkippedNonJson => Volatile.Read(ref _skippedNonJson);

    /// <summary>Matched messages skipped because the payload lacks a field the statement needs.</summary>
    public long SkippedMissingField => Volatile.Read(ref _skippedMissingField);

    /// <summary>Messages (or window groups) dropped by an evaluation error, such as a type mismatch or division by zero.</summary>
    public long Errors => Volatile.Read(ref _errors);

    /// <summary>Output messages produced.</summary>
    public long Emitted => Volatile.Read(ref _emitted);

    /// <summary>The message of the latest evaluation error, for status and logs.</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    internal void AddMatched() => Volatile.Write(ref _matched, _matched + 1);

    internal void AddFiltered() => Volatile.Write(ref _filtered, _filtered + 1);

    internal void AddSkippedNonJson() => Volatile.Write(ref _skippedNonJson, _skippedNonJson + 1);

    internal void AddSkippedMissingField() => Volatile.Write(ref _skippedMissingField, _skippedMissingField + 1);

    internal void AddEmitted() => Volatile.Write(ref _emitted, _emitted + 1);

    internal void AddError(string message)
    {
        Volatile.Write(ref _errors, _errors + 1);
        Volatile.Write(ref _lastError, message);
    }
}

/// <summary>One result of a rule: the rule's name and a JSON object in UTF-8.</summary>
public readonly record struct RuleOutput(string Rule, byte[] Payload)
{
    public override string ToString() => $"{Rule}: {System.Text.Encoding.UTF8.GetString(Payload)}";
}
