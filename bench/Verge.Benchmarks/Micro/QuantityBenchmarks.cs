using BenchmarkDotNet.Attributes;
using Verge.Core.Quantities;

namespace Verge.Benchmarks.Micro;

/// <summary>Parsing and printing resource quantities, as every pod admission and scheduling pass does.</summary>
[MemoryDiagnoser]
public class QuantityBenchmarks
{
    private Quantity _milli;
    private Quantity _binary;

    [Params("100m", "64Mi", "1.5G")]
    public string Text { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _milli = Quantity.Parse("100m");
        _binary = Quantity.Parse("64Mi");
    }

    [Benchmark]
    public Quantity Parse() => Quantity.Parse(Text);

    [Benchmark]
    public string PrintMilli() => _milli.ToString();

    [Benchmark]
    public string PrintBinary() => _binary.ToString();
}
