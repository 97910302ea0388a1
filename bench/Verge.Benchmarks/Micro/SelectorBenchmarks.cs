using BenchmarkDotNet.Attributes;
using Verge.Core.Selectors;

namespace Verge.Benchmarks.Micro;

/// <summary>Label selector parsing (once per request) and matching (once per object per watcher or list).</summary>
[MemoryDiagnoser]
public class SelectorBenchmarks
{
    private const string Text = "app=web,tier in (frontend,edge),!canary,env notin (dev)";

    private readonly Dictionary<string, string> _labels = new()
    {
        ["app"] = "web",
        ["tier"] = "edge",
        ["env"] = "prod",
        ["pod-template-hash"] = "5d8f7c9b6d",
    };

    private LabelSelectorExpression _selector = LabelSelectorExpression.Everything;

    [GlobalSetup]
    public void Setup() => _selector = LabelSelectorExpression.Parse(Text);

    [Benchmark]
    public LabelSelectorExpression Parse() => LabelSelectorExpression.Parse(Text);

    [Benchmark]
    public bool Matches() => _selector.Matches(_labels);
}
