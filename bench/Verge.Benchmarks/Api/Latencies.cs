using System.Diagnostics;

namespace Verge.Benchmarks.Api;

/// <summary>A set of measured durations (Stopwatch ticks) summarised as nearest-rank percentiles in milliseconds.</summary>
internal sealed class Latencies
{
    private readonly long[] _sorted;

    public Latencies(IEnumerable<long> ticks)
    {
        _sorted = [.. ticks];
        Array.Sort(_sorted);
    }

    public int Count => _sorted.Length;

    public double P50 => Percentile(0.50);

    public double P99 => Percentile(0.99);

    public double Max => Count == 0 ? double.NaN : Ms(_sorted[^1]);

    public double Percentile(double q)
    {
        if (Count == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(q * Count) - 1;
        return Ms(_sorted[Math.Clamp(rank, 0, Count - 1)]);
    }

    public static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
