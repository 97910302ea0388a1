namespace Verge.Controllers.Runtime;

/// <summary>
/// Decides, before an Event is written, what client-go's event correlator decides, so that a controller acting on
/// thousands of objects does not write thousands of Events about one of them:
/// <list type="bullet">
/// <item>Similar occurrences (same object, type and reason, different message) are combined once
/// <see cref="MaxSimilar"/> distinct messages were seen within <see cref="SimilarInterval"/>: from then on a new
/// message goes to one Event whose message is <see cref="CombinedPrefix"/> and the newest message, and whose count
/// rises.</item>
/// <item>Each object gets a budget of <see cref="Burst"/> writes, refilled by one every <see cref="RefillEvery"/>;
/// occurrences beyond it are not written.</item>
/// </list>
/// A ReplicaSet or DaemonSet that creates 5,000 pods thus writes 25 Events about itself, as in Kubernetes, not 5,000.
/// Thread-safe.
/// </summary>
internal sealed class EventCorrelator(TimeProvider time)
{
    /// <summary>Distinct messages of one object, type and reason before they are combined (client-go: 10).</summary>
    public const int MaxSimilar = 10;

    /// <summary>Writes an object's Events may burst to (client-go: 25).</summary>
    public const int Burst = 25;

    public const string CombinedPrefix = "(combined from similar events): ";

    private const int CacheSize = 4096;

    /// <summary>How long a group of similar messages is remembered after its last occurrence (client-go: 10 minutes).</summary>
    public static readonly TimeSpan SimilarInterval = TimeSpan.FromMinutes(10);

    /// <summary>How often an object's write budget gains one write back (client-go: every 5 minutes).</summary>
    public static readonly TimeSpan RefillEvery = TimeSpan.FromMinutes(5);

    private readonly Lock _lock = new();
    private readonly LruCache<Similar> _similar = new(CacheSize);
    private readonly LruCache<Budget> _budgets = new(CacheSize);

    /// <summary>What to do with one occurrence.</summary>
    /// <param name="Skip">Over the object's budget: write nothing.</param>
    /// <param name="Key">The Event it folds into when one was written under this key before.</param>
    /// <param name="Message">The message to write (combined, or the occurrence's own).</param>
    public readonly record struct Outcome(bool Skip, string Key, string Message);

    /// <param name="objectKey">The source and the involved object, identifying whose budget this is.</param>
    public Outcome Correlate(string objectKey, string type, string reason, string message)
    {
        var groupKey = string.Join('\u0000', objectKey, type, reason);
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (!_similar.TryGet(groupKey, out var similar) || now - similar.Last > SimilarInterval)
            {
                similar = new Similar();
                _similar.Set(groupKey, similar);
            }

            similar.Last = now;
            similar.Messages.Add(message);
            var outcome = new Outcome(false, string.Join('\u0000', groupKey, message), message);
            if (similar.Messages.Count >= MaxSimilar)
            {
                // Combined from now on; the set stays below the threshold, so a message seen before keeps folding
                // into its own Event and every new one into the combined Event.
                similar.Messages.Remove(message);
                outcome = new Outcome(false, groupKey, CombinedPrefix + message);
            }

            if (!_budgets.TryGet(objectKey, out var budget))
            {
                budget = new Budget { Tokens = Burst, At = now };
                _budgets.Set(objectKey, budget);
            }

            budget.Tokens = Math.Min(Burst, budget.Tokens + ((now - budget.At) / RefillEvery));
            budget.At = now;
            if (budget.Tokens < 1)
            {
                return outcome with { Skip = true };
            }

            budget.Tokens -= 1;
            return outcome;
        }
    }

    private sealed class Similar
    {
        public HashSet<string> Messages { get; } = new(StringComparer.Ordinal);

        public DateTimeOffset Last { get; set; }
    }

    private sealed class Budget
    {
        public double Tokens { get; set; }

        public DateTimeOffset At { get; set; }
    }
}
