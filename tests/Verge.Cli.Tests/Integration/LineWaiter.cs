using System.Text;

namespace Verge.Cli.Tests.Integration;

/// <summary>A TextWriter that keeps what is written and lets a test wait until a line containing some text appears.</summary>
internal sealed class LineWaiter : TextWriter
{
    private readonly StringBuilder _text = new();
    private readonly List<(string Needle, TaskCompletionSource Seen)> _waits = [];
    private readonly Lock _lock = new();

    public override Encoding Encoding => Encoding.UTF8;

    public string Text
    {
        get
        {
            lock (_lock)
            {
                return _text.ToString();
            }
        }
    }

    /// <summary>Completes once the written text contains <paramref name="needle"/> (at once when it already does).</summary>
    public Task WaitForAsync(string needle)
    {
        lock (_lock)
        {
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_text.ToString().Contains(needle, StringComparison.Ordinal))
            {
                seen.SetResult();
            }
            else
            {
                _waits.Add((needle, seen));
            }

            // A generous bound so that a broken CLI fails the test instead of hanging it.
            return seen.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    public override void Write(char value)
    {
        lock (_lock)
        {
            _text.Append(value);
            if (value != '\n' || _waits.Count == 0)
            {
                return;
            }

            var text = _text.ToString();
            foreach (var wait in _waits.Where(w => text.Contains(w.Needle, StringComparison.Ordinal)).ToList())
            {
                wait.Seen.SetResult();
                _waits.Remove(wait);
            }
        }
    }
}
