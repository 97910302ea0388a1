using System.Globalization;
using System.Text.RegularExpressions;

namespace Verge.Cli.Simulation;

/// <summary>Durations as flags spell them: <c>1s</c>, <c>500ms</c>, <c>1m30s</c>, <c>2h</c>.</summary>
internal static partial class DurationText
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text) || !Duration().IsMatch(text))
        {
            return false;
        }

        foreach (Match part in Part().Matches(text))
        {
            var amount = double.Parse(part.Groups[1].Value, CultureInfo.InvariantCulture);
            value += part.Groups[2].Value switch
            {
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "s" => TimeSpan.FromSeconds(amount),
                _ => TimeSpan.FromMilliseconds(amount),
            };
        }

        return true;
    }

    [GeneratedRegex(@"^(\d+(\.\d+)?(h|ms|m|s))+$")]
    private static partial Regex Duration();

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(h|ms|m|s)")]
    private static partial Regex Part();
}
