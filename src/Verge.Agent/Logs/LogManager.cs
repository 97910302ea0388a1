using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Verge.Agent.Channel;
using Verge.Agent.Pods;

namespace Verge.Agent.Logs;

/// <summary>Log file limits and how often they are checked.</summary>
internal sealed record LogOptions
{
    /// <summary>A container log file larger than this is rotated (kubelet's containerLogMaxSize, 10 MiB).</summary>
    public long MaxFileBytes { get; init; } = 10 * 1024 * 1024;

    /// <summary>Files kept per container instance, the live one included (kubelet's containerLogMaxFiles, 5).</summary>
    public int MaxFiles { get; init; } = 5;

    public TimeSpan RotateInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a follow checks the file for new output.</summary>
    public TimeSpan FollowPoll { get; init; } = TimeSpan.FromMilliseconds(250);

    public void Validate()
    {
        if (MaxFileBytes < 1024)
        {
            throw new ArgumentException("MaxFileBytes must be at least 1024.", nameof(MaxFileBytes));
        }

        if (MaxFiles < 2)
        {
            throw new ArgumentException("MaxFiles must be at least 2 (the live file and one rotated).", nameof(MaxFiles));
        }

        if (RotateInterval <= TimeSpan.Zero || FollowPoll <= TimeSpan.Zero)
        {
            throw new ArgumentException("RotateInterval and FollowPoll must be positive.");
        }
    }
}

/// <summary>
/// Container logs on the node: one file per container instance at DataDir/pods/UID/CONTAINER/N.log, appended by the
/// driver; rotated by size with copy-truncate (N.log.1 is the newest rotated copy, up to MaxFiles - 1 of them); read for
/// kubectl logs with tail, follow, previous, limitBytes and since.
/// </summary>
internal sealed partial class LogManager : ILogSource, IAsyncDisposable
{
    private readonly string _podsDir;
    private readonly IContainerLogIndex _index;
    private readonly LogOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _life = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _rotations = new(StringComparer.Ordinal);
    private Task? _rotation;

    public LogManager(string dataDir, IContainerLogIndex index, LogOptions options, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _podsDir = Path.Combine(dataDir, "pods");
        _index = index;
        _options = options;
        _time = time;
        _logger = logger;
    }

    public void Start() => _rotation ??= Task.Run(() => RotateLoopAsync(_life.Token));

    /// <summary>How many log files have a rotation count (tests: entries of deleted pods are pruned).</summary>
    internal int TrackedRotations => _rotations.Count;

    /// <summary>
    /// Rotates every log file over the size limit; returns how many were rotated. Rotation counts of files that are
    /// gone (their pod was deleted) are dropped, so the map does not grow with every pod the node ever ran.
    /// </summary>
    public int RotateAll()
    {
        foreach (var path in _rotations.Keys)
        {
            if (!File.Exists(path))
            {
                _rotations.TryRemove(path, out _);
            }
        }

        if (!Directory.Exists(_podsDir))
        {
            return 0;
        }

        var rotated = 0;
        foreach (var file in Directory.EnumerateFiles(_podsDir, "*.log", SearchOption.AllDirectories))
        {
            try
            {
                if (new FileInfo(file).Length > _options.MaxFileBytes)
                {
                    Rotate(file);
                    rotated++;
                }
            }
            catch (IOException e)
            {
                LogRotateFailed(_logger, file, e.Message);
            }
        }

        return rotated;
    }

    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(LogQuery query, [EnumeratorCancellation] CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        var target = _index.Find(query.Namespace, query.Pod)
            ?? throw new LogNotFoundException($"pods \"{query.Pod}\" not found");
        var container = query.Container;
        if (string.IsNullOrEmpty(container))
        {
            if (target.Containers.Count != 1)
            {
                var message = $"a container name must be specified for pod {query.Pod}, choose one of: [{string.Join(' ', target.Containers)}]";
                if (target.InitContainers.Count > 0)
                {
                    message += $" or one of the init containers: [{string.Join(' ', target.InitContainers)}]";
                }

                throw new LogNotFoundException(message);
            }

            container = target.Containers[0];
        }

        if (!target.States.TryGetValue(container, out var state))
        {
            throw new LogNotFoundException($"container {container} is not valid for pod {query.Pod}");
        }

        int instance;
        if (query.Previous)
        {
            instance = state.Previous ?? throw new LogNotFoundException($"previous terminated container \"{container}\" in pod \"{query.Pod}\" not found");
        }
        else
        {
            instance = state.Current ?? throw new LogNotFoundException(
                $"container \"{container}\" in pod \"{query.Pod}\" is waiting to start: {state.WaitingReason ?? "ContainerCreating"}");
        }

        var path = Path.Combine(_podsDir, target.Uid, container, $"{instance}.log");
        var follow = query.Follow && !query.Previous;
        var budget = query.LimitBytes is > 0 ? query.LimitBytes.Value : long.MaxValue;

        // The rotation count that goes with the read position: taken right after the live file is read (before its
        // chunk goes out to the caller), so a rotation while the caller holds that chunk is seen by the follow loop.
        var seenRotations = _rotations.GetValueOrDefault(path);

        // What is there now: rotated copies oldest first, then the live file.
        var files = Rotated(path).Reverse().Append(path)
            .Where(f => File.Exists(f) && (query.Since is not { } since || File.GetLastWriteTimeUtc(f) >= since.UtcDateTime))
            .ToList();
        long position = 0;
        if (query.TailLines is { } tail)
        {
            var all = new MemoryStream();
            foreach (var file in files)
            {
                var bytes = await ReadFromAsync(file, 0, ct);
                all.Write(bytes);
                if (file == path)
                {
                    position = bytes.Length;
                    seenRotations = _rotations.GetValueOrDefault(path);
                }
            }

            var chunk = TailLines(all.GetBuffer().AsMemory(0, (int)all.Length), tail);
            if (chunk.Length > budget)
            {
                chunk = chunk[..(int)budget];
            }

            budget -= chunk.Length;
            if (chunk.Length > 0)
            {
                yield return chunk;
            }
        }
        else
        {
            foreach (var file in files)
            {
                var bytes = await ReadFromAsync(file, 0, ct);
                if (file == path)
                {
                    position = bytes.Length;
                    seenRotations = _rotations.GetValueOrDefault(path);
                }

                var chunk = bytes.AsMemory();
                if (chunk.Length > budget)
                {
                    chunk = chunk[..(int)budget];
                }

                budget -= chunk.Length;
                if (chunk.Length > 0)
                {
                    yield return chunk;
                }

                if (budget <= 0)
                {
                    yield break;
                }
            }
        }

        if (!follow || budget <= 0)
        {
            yield break;
        }

        // Follow: poll the live file until the instance has exited and the file is drained. Rotations are seen by
        // this manager's own count (the live file may have grown past the old position again by the next poll).
        while (!ct.IsCancellationRequested && budget > 0)
        {
            var exited = state.CurrentExited.IsCompleted;
            var rotations = _rotations.GetValueOrDefault(path);
            var length = File.Exists(path) ? new FileInfo(path).Length : 0;
            byte[] fresh;
            if (rotations != seenRotations || length < position)
            {
                seenRotations = rotations;
                // Copy-truncate happened: what we had not read yet is at the end of the newest rotated copy.
                var rotated = path + ".1";
                var rest = File.Exists(rotated) ? await ReadFromAsync(rotated, position, ct) : [];
                position = 0;
                var current = await ReadFromAsync(path, 0, ct);
                position = current.Length;
                fresh = [.. rest, .. current];
            }
            else
            {
                fresh = length > position ? await ReadFromAsync(path, position, ct) : [];
                position += fresh.Length;
            }

            if (fresh.Length > 0)
            {
                var chunk = fresh.AsMemory();
                if (chunk.Length > budget)
                {
                    chunk = chunk[..(int)budget];
                }

                budget -= chunk.Length;
                yield return chunk;
                continue;
            }

            if (exited)
            {
                yield break;
            }

            try
            {
                await Task.WhenAny(state.CurrentExited, Task.Delay(_options.FollowPoll, _time, ct));
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _life.CancelAsync();
        if (_rotation is not null)
        {
            try
            {
                await _rotation;
            }
            catch (OperationCanceledException)
            {
            }
        }

        _life.Dispose();
    }

    /// <summary>The last <paramref name="lines"/> lines (a final line without a newline counts as one).</summary>
    internal static ReadOnlyMemory<byte> TailLines(ReadOnlyMemory<byte> data, long lines)
    {
        if (lines <= 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        var span = data.Span;
        var end = span.Length;
        if (end > 0 && span[end - 1] == (byte)'\n')
        {
            end--;
        }

        var found = 0L;
        for (var i = end - 1; i >= 0; i--)
        {
            if (span[i] == (byte)'\n' && ++found == lines)
            {
                return data[(i + 1)..];
            }
        }

        return data;
    }

    private static async Task<byte[]> ReadFromAsync(string file, long offset, CancellationToken ct)
    {
        try
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (offset >= stream.Length)
            {
                return [];
            }

            stream.Seek(offset, SeekOrigin.Begin);
            var buffer = new byte[stream.Length - offset];
            var read = 0;
            while (read < buffer.Length)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(read), ct);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            return read == buffer.Length ? buffer : buffer[..read];
        }
        catch (FileNotFoundException)
        {
            return [];
        }
    }

    /// <summary>The rotated copies of a file, newest first.</summary>
    private IEnumerable<string> Rotated(string path) =>
        Enumerable.Range(1, _options.MaxFiles - 1).Select(i => $"{path}.{i}");

    /// <summary>Copy-truncate: shift N.log.i to N.log.i+1 (dropping the oldest), copy the live file to N.log.1, truncate it.</summary>
    private void Rotate(string path)
    {
        var rotated = Rotated(path).ToList();
        if (File.Exists(rotated[^1]))
        {
            File.Delete(rotated[^1]);
        }

        for (var i = rotated.Count - 2; i >= 0; i--)
        {
            if (File.Exists(rotated[i]))
            {
                File.Move(rotated[i], rotated[i + 1], overwrite: true);
            }
        }

        File.Copy(path, rotated[0], overwrite: true);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        stream.SetLength(0);
        _rotations.AddOrUpdate(path, 1, (_, n) => n + 1);
    }

    private async Task RotateLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.RotateInterval, _time, ct);
                RotateAll();
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogRotateFailed(_logger, _podsDir, e.Message);
            }
        }
    }

    [LoggerMessage(EventId = 5701, Level = LogLevel.Warning, Message = "Rotating log {File} failed: {Error}")]
    private static partial void LogRotateFailed(ILogger logger, string file, string error);
}
