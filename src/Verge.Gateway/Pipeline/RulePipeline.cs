using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Verge.Core.Edge;
using Verge.Core.Rules;
using Verge.Gateway.Upstream;

namespace Verge.Gateway.Pipeline;

/// <summary>
/// Runs every accepted publish through the gateway's data rules and carries out the rules' actions. One loop owns
/// the <see cref="RuleEngine"/> (it is not thread-safe): messages, window ticks and rule reloads all reach it through
/// one channel, so a rule change takes effect between two messages without a restart. A full channel slows the
/// publishers down (the broker awaits the write), it never drops silently.
/// </summary>
internal sealed partial class RulePipeline : IAsyncDisposable
{
    private const int HttpQueueCapacity = 1024;

    private readonly Channel<Item> _items;
    private static readonly TimeSpan NoTargetLogInterval = TimeSpan.FromSeconds(30);

    private readonly Channel<HttpPost> _http = Channel.CreateBounded<HttpPost>(new BoundedChannelOptions(HttpQueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly PodTargets _podTargets;
    private readonly ConcurrentDictionary<string, NoTargetCount> _noTarget = new(StringComparer.Ordinal);
    private readonly Meter? _ownedMeter;
    private volatile (string Rule, RuleCounters Counters)[] _ruleCounters = [];
    private readonly RuleEngine _engine = new();
    private readonly Lock _setRules = new();
    private Dictionary<string, RuleStatement> _parsed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Statement, List<DataRuleAction> Actions, string Namespace)> _rules = new(StringComparer.Ordinal);
    private readonly List<RuleOutput> _outputs = [];
    private readonly List<Task<bool>> _enqueues = [];
    private readonly Func<string, int, byte[], Task> _republish;
    private readonly DurableQueue _queue;
    private readonly Action _upstreamEnqueued;
    private readonly HttpClient _httpClient;
    private readonly GatewayCounters _counters;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _advanceInterval;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private Task? _ticker;
    private Task? _httpLoop;

    public RulePipeline(GatewayOptions options, Func<string, int, byte[], Task> republish, DurableQueue queue, Action upstreamEnqueued, HttpClient httpClient, GatewayCounters counters, TimeProvider time, ILogger logger, ILocalPods? pods = null, IMeterFactory? meters = null)
    {
        _podTargets = new PodTargets(pods);
        _ownedMeter = meters is null ? new Meter("Verge.Gateway") : null;
        CreateInstruments(_ownedMeter ?? meters!.Create("Verge.Gateway"));
        _items = Channel.CreateBounded<Item>(new BoundedChannelOptions(options.PipelineCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _republish = republish;
        _queue = queue;
        _upstreamEnqueued = upstreamEnqueued;
        _httpClient = httpClient;
        _counters = counters;
        _time = time;
        _logger = logger;
        _advanceInterval = options.AdvanceInterval;
    }

    /// <summary>The rules running now, by name (for status and tests).</summary>
    public RuleEngine Engine => _engine;

    public void Start()
    {
        _loop = Task.Run(() => RunAsync(_stop.Token));
        _ticker = Task.Run(() => TickAsync(_stop.Token));
        _httpLoop = Task.Run(() => PostAsync(_stop.Token));
    }

    /// <summary>
    /// Hands one message to the rules; waits while the pipeline is full. With <paramref name="durable"/> it also waits
    /// until the rules have run on the message and every upstream output it produced is fsynced in the queue, and
    /// returns false if any was refused or failed (the sender must not be acknowledged). Without, it returns once the
    /// message is in the pipeline. <paramref name="duplicate"/> is the sender's redelivery mark (MQTT DUP).
    /// </summary>
    public async ValueTask<bool> SubmitAsync(string topic, byte[] payload, string clientId, bool duplicate, bool durable, CancellationToken ct)
    {
        if (!durable)
        {
            return await EnqueueAsync(topic, payload, clientId, duplicate, null, ct);
        }

        var stored = await SubmitDurableAsync(topic, payload, clientId, duplicate, ct);
        return await stored.WaitAsync(ct);
    }

    /// <summary>
    /// Hands one message to the rules (waiting only while the pipeline is full) and returns a task that completes
    /// with true once every upstream output of the message is fsynced, or false if one was refused or failed. The
    /// caller can go on with the next message meanwhile: messages that follow each other share group commits.
    /// </summary>
    public async ValueTask<Task<bool>> SubmitDurableAsync(string topic, byte[] payload, string clientId, bool duplicate, CancellationToken ct)
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        return await EnqueueAsync(topic, payload, clientId, duplicate, done, ct) ? done.Task : Task.FromResult(false);
    }

    private async ValueTask<bool> EnqueueAsync(string topic, byte[] payload, string clientId, bool duplicate, TaskCompletionSource<bool>? done, CancellationToken ct)
    {
        try
        {
            await _items.Writer.WriteAsync(new Item(ItemKind.Message, topic, payload, clientId, _time.GetUtcNow(), null, duplicate, done), ct);
            return true;
        }
        catch (ChannelClosedException)
        {
            _counters.AddPipelineDropped();
            return false;
        }
    }

    /// <summary>
    /// Replaces the rule set (rules whose statement is unchanged keep their open windows) and returns the topic
    /// filters of the rules that run from now on (enabled, statement valid): a message that matches none of them has
    /// nothing to do here. Statements are parsed here, once per change of their text; the loop compiles them.
    /// </summary>
    public TopicFilter[] SetRules(IReadOnlyList<DataRule> rules)
    {
        lock (_setRules)
        {
            var loaded = Parse(rules);
            var reload = new Item(ItemKind.Reload, "", [], "", default, loaded, false, null);
            if (!_items.Writer.TryWrite(reload))
            {
                // Full: deliver it without blocking the caller (a state change notification).
                _ = _items.Writer.WriteAsync(reload, _stop.Token).AsTask();
            }

            return [.. loaded.Where(r => r.Statement is not null).Select(r => r.Statement!.From)];
        }
    }

    /// <summary>The rules that should run, each with its parsed statement or why it does not parse (under <see cref="_setRules"/>).</summary>
    private List<LoadedRule> Parse(IReadOnlyList<DataRule> rules)
    {
        var loaded = new List<LoadedRule>(rules.Count);
        var parsed = new Dictionary<string, RuleStatement>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            var name = rule.Metadata.Namespace is { Length: > 0 } ns ? $"{ns}/{rule.Metadata.Name}" : rule.Metadata.Name ?? "";
            if (name.Length == 0 || rule.Spec is null || rule.Spec.Enabled == false)
            {
                continue;
            }

            var text = rule.Spec.Statement;
            RuleSyntaxException? error = null;
            if (_parsed.TryGetValue(name, out var statement) && statement.Text == text
                || RuleStatement.TryParse(text, out statement, out error))
            {
                parsed[name] = statement!;
            }

            loaded.Add(new LoadedRule(name, text, statement, error?.Message, rule.Spec.Actions ?? [], rule.Metadata.Namespace ?? "default"));
        }

        _parsed = parsed;
        return loaded;
    }

    public async ValueTask DisposeAsync()
    {
        _items.Writer.TryComplete();
        _http.Writer.TryComplete();
        await _stop.CancelAsync();
        foreach (var task in new[] { _loop, _ticker, _httpLoop })
        {
            if (task is not null)
            {
                try
                {
                    await task;
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        // Messages still waiting were never processed: their senders are not acknowledged.
        while (_items.Reader.TryRead(out var left))
        {
            left.Done?.TrySetResult(false);
        }

        _stop.Dispose();
        _ownedMeter?.Dispose();
    }

    private void CreateInstruments(Meter meter)
    {
        meter.CreateObservableCounter("verge.gateway.rule.messages", () => RuleMeasurements(), "{message}",
            "Messages per data rule and outcome: matched (topic matched), emitted (outputs), filtered (WHERE not true), skipped_non_json, skipped_missing_field, errors");
        meter.CreateObservableCounter("verge.gateway.rule.http_no_target", () => _noTarget.Select(p => new Measurement<long>(p.Value.Count, new KeyValuePair<string, object?>("rule", p.Key))), "{message}",
            "Rule outputs whose HTTP action's pod selector found no Ready pod on this node");
    }

    private IEnumerable<Measurement<long>> RuleMeasurements()
    {
        foreach (var (rule, counters) in _ruleCounters)
        {
            var tag = new KeyValuePair<string, object?>("rule", rule);
            yield return new Measurement<long>(counters.Matched, tag, new KeyValuePair<string, object?>("outcome", "matched"));
            yield return new Measurement<long>(counters.Emitted, tag, new KeyValuePair<string, object?>("outcome", "emitted"));
            yield return new Measurement<long>(counters.Filtered, tag, new KeyValuePair<string, object?>("outcome", "filtered"));
            yield return new Measurement<long>(counters.SkippedNonJson, tag, new KeyValuePair<string, object?>("outcome", "skipped_non_json"));
            yield return new Measurement<long>(counters.SkippedMissingField, tag, new KeyValuePair<string, object?>("outcome", "skipped_missing_field"));
            yield return new Measurement<long>(counters.Errors, tag, new KeyValuePair<string, object?>("outcome", "errors"));
        }
    }

    private async Task TickAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(_advanceInterval, _time);
        while (await timer.WaitForNextTickAsync(ct))
        {
            _items.Writer.TryWrite(new Item(ItemKind.Tick, "", [], "", default, null, false, null));
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        await foreach (var item in _items.Reader.ReadAllAsync(ct))
        {
            try
            {
                _outputs.Clear();
                _enqueues.Clear();
                switch (item.Kind)
                {
                    case ItemKind.Message:
                        _engine.Process(item.Topic, item.Payload, item.ClientId, item.ReceivedAt, _outputs, item.Duplicate);
                        break;
                    case ItemKind.Tick:
                        _engine.Advance(_time.GetUtcNow(), _outputs);
                        break;
                    case ItemKind.Reload:
                        Reload(item.Rules!);
                        break;
                }

                if (_outputs.Count > 0)
                {
                    _counters.AddRuleOutputs(_outputs.Count);
                    await DispatchAsync(ct);
                }

                if (item.Done is { } done)
                {
                    CompleteWhenDurable(done);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                item.Done?.TrySetResult(false);
                throw;
            }
            catch (Exception e)
            {
                // A rule or an action failing must never stop the pipeline; the sender is not acknowledged.
                item.Done?.TrySetResult(false);
                _counters.AddActionError();
                Log.PipelineError(_logger, e);
            }
        }
    }

    /// <summary>Completes <paramref name="done"/> once the upstream enqueues of the current message are durable.</summary>
    private void CompleteWhenDurable(TaskCompletionSource<bool> done)
    {
        if (_enqueues.Count == 0)
        {
            done.TrySetResult(true);
        }
        else if (_enqueues.Count == 1)
        {
            _ = CompleteAsync(_enqueues[0], done);
        }
        else
        {
            _ = CompleteAllAsync([.. _enqueues], done);
        }

        static async Task CompleteAsync(Task<bool> enqueue, TaskCompletionSource<bool> done) => done.TrySetResult(await enqueue);

        static async Task CompleteAllAsync(Task<bool>[] enqueues, TaskCompletionSource<bool> done) =>
            done.TrySetResult((await Task.WhenAll(enqueues)).All(accepted => accepted));
    }

    private async Task DispatchAsync(CancellationToken ct)
    {
        foreach (var output in _outputs)
        {
            if (!_rules.TryGetValue(output.Rule, out var rule))
            {
                continue;
            }

            for (var index = 0; index < rule.Actions.Count; index++)
            {
                var action = rule.Actions[index];
                if (action.Republish is { Topic.Length: > 0 } republish)
                {
                    await _republish(republish.Topic, republish.Qos ?? EdgeDefaults.DefaultQos, output.Payload);
                }
                else if (action.Upstream is { Topic.Length: > 0 } upstream)
                {
                    // Not awaited one by one: the queue group-commits everything waiting with one fsync and keeps
                    // call order, so the pipeline moves on and the queue batches.
                    _enqueues.Add(ObserveEnqueueAsync(_queue.EnqueueAsync(upstream.Topic, output.Payload, ct)));
                }
                else if (action.Http is { } http)
                {
                    // Resolved when posted (the freshest pod list); a full queue drops and counts rather than stall the rules.
                    if (!_http.Writer.TryWrite(new HttpPost(output.Rule, rule.Namespace, index, http, output.Payload)))
                    {
                        _counters.AddActionError();
                    }
                }
            }
        }
    }

    /// <summary>True once the enqueue is fsynced; false (counted and logged) if it was refused or failed.</summary>
    private async Task<bool> ObserveEnqueueAsync(ValueTask<EnqueueResult> enqueue)
    {
        try
        {
            var result = await enqueue;
            if (result.Accepted)
            {
                _upstreamEnqueued();
                return true;
            }

            _counters.AddActionError();
            Log.UpstreamRefused(_logger, result.Refusal ?? "refused");
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or ArgumentException)
        {
            _counters.AddActionError();
            Log.UpstreamRefused(_logger, e.Message);
        }

        return false;
    }

    private async Task PostAsync(CancellationToken ct)
    {
        await foreach (var post in _http.Reader.ReadAllAsync(ct))
        {
            var target = post.Action.Url is { Length: > 0 } url
                ? (Uri.TryCreate(url, UriKind.Absolute, out var parsed) ? parsed : null)
                : _podTargets.Resolve(post.Namespace, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{post.Rule}#{post.Index}"), post.Action);
            if (target is null)
            {
                NoTarget(post);
                continue;
            }

            try
            {
                using var content = new ByteArrayContent(post.Payload);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await _httpClient.PostAsync(target, content, ct);
                if (!response.IsSuccessStatusCode)
                {
                    _counters.AddActionError();
                    Log.HttpFailed(_logger, target.ToString(), ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                _counters.AddActionError();
                Log.HttpFailed(_logger, target.ToString(), e.Message);
            }
        }
    }

    /// <summary>Counts an output whose HTTP action has no target; logs it at most once per rule every 30 s.</summary>
    private void NoTarget(HttpPost post)
    {
        _counters.AddHttpNoTarget();
        var entry = _noTarget.GetOrAdd(post.Rule, static _ => new NoTargetCount());
        var count = entry.Add();
        var now = _time.GetUtcNow();
        if (now - entry.LoggedAt >= NoTargetLogInterval)
        {
            entry.LoggedAt = now;
            var selector = post.Action.PodSelector?.ToString() ?? post.Action.Url ?? "";
            Log.HttpNoTarget(_logger, post.Rule, selector, count);
        }
    }

    private void Reload(IReadOnlyList<LoadedRule> rules)
    {
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, text, statement, error, actions, ruleNamespace) in rules)
        {
            if (_rules.TryGetValue(name, out var existing) && existing.Statement == text)
            {
                wanted.Add(name);
                _rules[name] = (existing.Statement, actions, ruleNamespace);
                continue;
            }

            if (statement is null)
            {
                Log.RuleInvalid(_logger, name, error!);
                continue;
            }

            wanted.Add(name);
            _engine.AddOrUpdate(name, statement);
            _rules[name] = (text, actions, ruleNamespace);
            Log.RuleLoaded(_logger, name);
        }

        var removed = _rules.Keys.Where(n => !wanted.Contains(n)).ToList();
        foreach (var name in removed)
        {
            _rules.Remove(name);
            _engine.Remove(name);
            Log.RuleRemoved(_logger, name);
        }

        // The reloaded rules hold new selector objects: forget the old matchers (and start the turns afresh).
        _podTargets.Clear();

        // Read by the metrics thread; the engine itself belongs to this loop.
        _ruleCounters = [.. _rules.Keys.Select(n => (n, _engine.Find(n)?.Counters)).Where(p => p.Counters is not null).Select(p => (p.n, p.Counters!))];
    }

    private enum ItemKind
    {
        Message,
        Tick,
        Reload,
    }

    /// <summary>A rule's outputs with no HTTP target: the count (read by the metrics thread) and when it was last logged (HTTP loop only).</summary>
    private sealed class NoTargetCount
    {
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public DateTimeOffset LoggedAt { get; set; } = DateTimeOffset.MinValue;

        public long Add() => Interlocked.Increment(ref _count);
    }

    private readonly record struct HttpPost(string Rule, string Namespace, int Index, HttpAction Action, byte[] Payload);

    private readonly record struct Item(ItemKind Kind, string Topic, byte[] Payload, string ClientId, DateTimeOffset ReceivedAt, IReadOnlyList<LoadedRule>? Rules, bool Duplicate, TaskCompletionSource<bool>? Done);

    /// <summary>A rule to run: <paramref name="Statement"/> is null when <paramref name="Text"/> does not parse (<paramref name="Error"/> says why).</summary>
    private sealed record LoadedRule(string Name, string Text, RuleStatement? Statement, string? Error, List<DataRuleAction> Actions, string Namespace);

    private static partial class Log
    {
        [LoggerMessage(EventId = 6301, Level = LogLevel.Information, Message = "Data rule {Rule} loaded")]
        public static partial void RuleLoaded(ILogger logger, string rule);

        [LoggerMessage(EventId = 6302, Level = LogLevel.Warning, Message = "Data rule {Rule} is invalid and does not run: {Reason}")]
        public static partial void RuleInvalid(ILogger logger, string rule, string reason);

        [LoggerMessage(EventId = 6303, Level = LogLevel.Information, Message = "Data rule {Rule} removed")]
        public static partial void RuleRemoved(ILogger logger, string rule);

        [LoggerMessage(EventId = 6304, Level = LogLevel.Error, Message = "Rule pipeline error; the pipeline goes on")]
        public static partial void PipelineError(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 6305, Level = LogLevel.Warning, Message = "Upstream queue refused a rule output: {Reason}")]
        public static partial void UpstreamRefused(ILogger logger, string reason);

        [LoggerMessage(EventId = 6306, Level = LogLevel.Warning, Message = "HTTP action to {Url} failed: {Reason}")]
        public static partial void HttpFailed(ILogger logger, string url, string reason);

        [LoggerMessage(EventId = 6307, Level = LogLevel.Warning, Message = "Data rule {Rule}: no Ready pod on this node matches the HTTP action's selector '{Selector}'; {Count} outputs not posted so far")]
        public static partial void HttpNoTarget(ILogger logger, string rule, string selector, long count);
    }
}
