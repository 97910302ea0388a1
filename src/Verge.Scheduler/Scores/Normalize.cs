namespace Verge.Scheduler.Scores;

/// <summary>kube-scheduler's score normalizations onto 0-100.</summary>
internal static class Normalize
{
    public const long MaxScore = 100;

    /// <summary>DefaultNormalizeScore: scale by the maximum; reversed, fewer is better (all zero -> all 100).</summary>
    public static void ByMax(Span<long> scores, bool reverse)
    {
        long max = 0;
        foreach (var s in scores)
        {
            max = Math.Max(max, s);
        }

        if (max == 0)
        {
            if (reverse)
            {
                scores.Fill(MaxScore);
            }

            return;
        }

        for (var i = 0; i < scores.Length; i++)
        {
            var s = MaxScore * scores[i] / max;
            scores[i] = reverse ? MaxScore - s : s;
        }
    }

    /// <summary>
    /// PodTopologySpread's normalization: fewer matching pods is better, 100 * (max + min - s) / max; nodes missing a
    /// topology key score 0.
    /// </summary>
    public static void Spread(Span<long> scores, ReadOnlySpan<bool> ignored)
    {
        var min = long.MaxValue;
        long max = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            if (ignored[i])
            {
                continue;
            }

            min = Math.Min(min, scores[i]);
            max = Math.Max(max, scores[i]);
        }

        for (var i = 0; i < scores.Length; i++)
        {
            if (ignored[i])
            {
                scores[i] = 0;
            }
            else if (max == 0)
            {
                scores[i] = MaxScore;
            }
            else
            {
                scores[i] = MaxScore * (max + min - scores[i]) / max;
            }
        }
    }
}
