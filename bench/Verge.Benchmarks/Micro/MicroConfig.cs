using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace Verge.Benchmarks.Micro;

/// <summary>
/// A short job (3 warm-ups, 5 measured iterations, one launch) with allocation figures, so every benchmark in the
/// suite finishes in a few minutes on a 2-core machine. Add <c>--job default</c> for a full run.
/// </summary>
internal static class MicroConfig
{
    public static IConfig Create() =>
        DefaultConfig.Instance
            .AddJob(Job.ShortRun.WithWarmupCount(3).WithIterationCount(5).WithLaunchCount(1).WithId("Short"))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithOptions(ConfigOptions.JoinSummary);
}
