namespace Verge.Cli.Tests.Commands;

/// <summary>
/// <c>-f -</c> reads manifests from standard input. Ctrl-C while the verb still waits for input ends it at once with
/// exit code 130 and nothing printed, as for any interrupted verb.
/// </summary>
public sealed class StdinManifestTests : IDisposable
{
    private readonly CliHarness _cli = new();

    public void Dispose() => _cli.Dispose();

    [Theory]
    [InlineData("apply")]
    [InlineData("delete")]
    public async Task ReadingStdin_WhenInterrupted_Exits130WithoutAWord(string verb)
    {
        using var input = new SilentInput();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var interrupt = new CancellationTokenSource();
        var context = new CliContext
        {
            Out = stdout,
            Error = stderr,

            // As Console.In: a synchronized reader whose reads block and never look at a token.
            In = TextReader.Synchronized(input),
            GetEnvironmentVariable = _ => null,
            CurrentDirectory = _cli.WorkingDirectory,
            HomeDirectory = _cli.HomeDirectory,
        };
        try
        {
            var run = Task.Run(() => Cli.RunAsync([verb, "-f", "-"], context, interrupt.Token));
            await input.Waiting;
            await interrupt.CancelAsync();

            Assert.Equal(130, await run);
            Assert.Equal(("", ""), (stdout.ToString(), stderr.ToString()));
        }
        finally
        {
            input.Close();
        }
    }

    /// <summary>Standard input that has nothing to say: a read blocks until the reader is closed.</summary>
    private sealed class SilentInput : TextReader
    {
        private readonly TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly object _gate = new();
        private bool _closed;

        /// <summary>Completes once a read is blocked.</summary>
        public Task Waiting => _waiting.Task;

        public override int Read(char[] buffer, int index, int count) => Block();

        public override int Read() => Block();

        public override int Peek() => -1;

        public override string ReadToEnd()
        {
            Block();
            return "";
        }

        protected override void Dispose(bool disposing)
        {
            lock (_gate)
            {
                _closed = true;
                Monitor.PulseAll(_gate);
            }

            base.Dispose(disposing);
        }

        private int Block()
        {
            _waiting.TrySetResult();
            lock (_gate)
            {
                while (!_closed)
                {
                    Monitor.Wait(_gate);
                }
            }

            return -1;
        }
    }
}
