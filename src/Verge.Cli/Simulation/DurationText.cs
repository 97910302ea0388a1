using System.Globalization;
using System.Text.RegularExpressions;

namespace Verge.Cli.Simulation;

/// <summary>Durations as flags spell them: <c>1s</c>, <c>500ms</c>, <c>1m30s</c>, <c>2h</c>.</summary>
internal static partial class DurationText
{
    /// <summary>
    /// The longest duration a flag may spell: Go's, about 292 years (2562047h47m16.854775807s), so a flag kubectl
    /// or kubeadm would refuse as too long is refused here too rather than overflowing a <see cref="TimeSpan"/>.
    /// </summary>
    public static readonly TimeSpan Longest = TimeSpan.FromTicks(long.MaxValue / TimeSpan.NanosecondsPerTick);

    public static bool TryParse(string? text, out TimeSpan value) => TryParse(text, out value, out _);

    /// <summary>Parses <paramref name="text"/>; <paramref name="tooLong"/> tells a well-formed duration past <see cref="Longest"/>.</summary>
    public static bool TryParse(string? text, out TimeSpan value, out bool tooLong)
    {
        value = TimeSpan.Zero;
        tooLong = false;
        if (string.IsNullOrWhiteSpace(text) || !Duration().IsMatch(text))
        {
            return false;
        }

        // Summed in milliseconds as a double, which holds any count of digits (as infinity at worst), and compared
        // with the longest before a TimeSpan is made of it.
        var milliseconds = 0.0;
        foreach (Match part in Part().Matches(text))
        {
            var amount = double.Parse(part.Groups[1].Value, CultureInfo.InvariantCulture);
            milliseconds += amount * part.Groups[2].Value switch
            {
                "h" => 3_600_000,
                "m" => 60_000,
                "s" => 1_000,
                _ => 1,
            };
        }

        if (milliseconds > Longest.TotalMilliseconds)
        {
            tooLong = true;
            return false;
        }

        value = TimeSpan.FromMilliseconds(milliseconds);
        return true;
    }

    [GeneratedRegex(@"^(\d+(\.\d+)?(h|ms|m|s))+$")]
    private static partial Regex Duration();

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(h|ms|m|s)")]
    private static partial Regex Part();
}
