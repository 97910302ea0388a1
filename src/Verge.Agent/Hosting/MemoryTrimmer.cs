using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Verge.Agent.Hosting;

/// <summary>Settings of the <see cref="MemoryTrimmer"/>.</summary>
internal sealed class MemoryTrimmerOptions
{
    /// <summary>How often allocation is looked at.</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A check interval with at least this much allocated counts as busy: no trim while work goes on.</summary>
    public long BusyBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// Trim once the agent has allocated this much since the last trim and has gone quiet. At 8 MiB, starting ten pods
    /// did not reach it and the GC kept the regions it had grown into (7.5 MiB more anonymous memory); at 2 MiB they are
    /// given back too. An idle agent allocates slowly, so at idle trims stay minutes apart.
    /// </summary>
    public long TrimAfterBytes { get; init; } = 2 * 1024 * 1024;

    public void Validate()
    {
        if (CheckInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"MemoryTrimmerOptions.CheckInterval must be positive, got {CheckInterval}");
        }

        if (BusyBytes <= 0 || TrimAfterBytes <= 0)
        {
            throw new ArgumentException("MemoryTrimmerOptions.BusyBytes and TrimAfterBytes must be positive");
        }
    }
}

/// <summary>
/// Gives memory back after bursts of work. Starting or deleting pods, a resync or an image pull allocate a few
/// megabytes each; the GC grows into new regions for them and keeps those committed (with their bookkeeping) until
/// later collections decommit them, which on an idle agent means much later; glibc keeps the native heap pages that
/// OpenSSL, SQLite and process spawning freed. On a device where the agent's whole budget is 30 MB that is most of
/// it. So: every <see cref="MemoryTrimmerOptions.CheckInterval"/>, when the agent allocated more than
/// <see cref="MemoryTrimmerOptions.TrimAfterBytes"/> since the last trim but less than
/// <see cref="MemoryTrimmerOptions.BusyBytes"/> in the last interval (the burst is over), one aggressive blocking
/// collection (it decommits free regions) and <c>malloc_trim(0)</c>. A live heap of a few megabytes collects in a
/// few milliseconds. See docs/agent.md, "Memory".
/// </summary>
internal sealed partial class MemoryTrimmer : IAsyncDisposable
{
    private readonly MemoryTrimmerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<long> _allocated;
    private readonly CancellationTokenSource _life = new();
    private long _lastCheck;
    private long _lastTrim;
    private bool _nativeTrimUnavailable;
    private Task? _loop;

    public MemoryTrimmer(MemoryTrimmerOptions options, TimeProvider time, ILogger logger, Func<long>? allocatedBytes = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = time;
        _logger = logger;
        _allocated = allocatedBytes ?? (() => GC.GetTotalAllocatedBytes(precise: false));
        // Counted from the start of the process: the first quiet check after start-up gives its garbage back.
        _lastCheck = _allocated();
        _lastTrim = 0;
    }

    /// <summary>How many trims ran (tests and logs).</summary>
    public int Trims { get; private set; }

    public void Start() => _loop ??= Task.Run(() => RunAsync(_life.Token));

    /// <summary>One check: trims when enough was allocated since the last trim and the last interval was quiet.</summary>
    public bool Check()
    {
        var now = _allocated();
        var lastInterval = now - _lastCheck;
        _lastCheck = now;
        if (lastInterval >= _options.BusyBytes || now - _lastTrim < _options.TrimAfterBytes)
        {
            return false;
        }

        Trim();
        _lastCheck = _lastTrim = _allocated();
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _life.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _life.Dispose();
    }

    private void Trim()
    {
        var before = Environment.WorkingSet;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (!_nativeTrimUnavailable)
        {
            try
            {
                _ = MallocTrim(0);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                // Not glibc (musl has no malloc_trim): the managed side is still trimmed.
                _nativeTrimUnavailable = true;
            }
        }

        Trims++;
        LogTrimmed(_logger, before / 1024, Environment.WorkingSet / 1024, GC.GetGCMemoryInfo().HeapSizeBytes / 1024);
    }

    private async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.CheckInterval, _time, ct);
                Check();
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LoggerMessage(EventId = 5911, Level = LogLevel.Debug, Message = "Memory trimmed after a burst of work: resident {BeforeKiB} KiB -> {AfterKiB} KiB, live managed heap {HeapKiB} KiB")]
    private static partial void LogTrimmed(ILogger logger, long beforeKiB, long afterKiB, long heapKiB);
}
