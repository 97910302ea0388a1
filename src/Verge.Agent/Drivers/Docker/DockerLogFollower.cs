using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Verge.Agent.Drivers.Docker;

/// <summary>
/// Copies one container's output from the engine's log stream into the task's log file, in the background, until
/// the container stops. Lines are asked for with engine timestamps; the last timestamp written (and how many lines
/// carried it, since some engines stamp whole seconds) is kept in a small file, so a follower started after an agent
/// restart asks for the log <c>since</c> then and skips what was already copied.
/// </summary>
internal sealed partial class DockerLogFollower : IAsyncDisposable
{
    private readonly DockerApiClient _api;
    private readonly string _containerId;
    private readonly string _logPath;
    private readonly string _positionPath;
    private readonly DockerDriverOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private (long Seconds, int Nanos)? _lastKey;
    private string? _lastTimestamp;
    private int _countAtLast;
    private (long Seconds, int Nanos)? _resumeKey;
    private int _toSkip;
    private Task _run = Task.CompletedTask;

    public DockerLogFollower(
        DockerApiClient api, string containerId, string logPath, string positionPath, DockerDriverOptions options, TimeProvider time, ILogger logger)
    {
        _api = api;
        _containerId = containerId;
        _logPath = logPath;
        _positionPath = positionPath;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Completes when the container stopped and its output has been copied (or the follower was stopped).</summary>
    public Task Completion => _run;

    public void Start()
    {
        LoadPosition();
        _run = Task.Run(() => RunAsync(_stop.Token));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _run;
        }
        catch (OperationCanceledException)
        {
            // Stopped on purpose.
        }

        _stop.Dispose();
    }

    /// <summary>Forgets how far the log was copied (the task is being destroyed).</summary>
    public static void DeletePosition(string positionPath)
    {
        if (File.Exists(positionPath))
        {
            File.Delete(positionPath);
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                // Ask from a second before the last line written: engines differ on whether since is inclusive, and
                // the keys below skip what was copied.
                var since = _lastKey is { } key ? key.Seconds - 1 : (long?)null;
                using (var response = await _api.LogsAsync(_containerId, follow: true, since, ct))
                {
                    await using var stream = await response.Content.ReadAsStreamAsync(ct);
                    BeginResume();
                    await foreach (var (_, payload) in DockerApiClient.ReadFramesAsync(stream, ct))
                    {
                        Append(payload);
                    }
                }

                var container = await _api.InspectContainerAsync(_containerId, ct);
                if (container is null || !container.State.Running)
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is DockerApiException or IOException or HttpRequestException or UnauthorizedAccessException)
            {
                LogFollowFailed(_containerId, e.Message);
                if (e is DockerApiException { StatusCode: System.Net.HttpStatusCode.NotFound })
                {
                    return;
                }
            }

            await Task.Delay(_options.LogRetryDelay, _time, ct);
        }
    }

    /// <summary>A new log stream starts (from <c>since</c>): lines up to the copied position are to be skipped.</summary>
    internal void BeginResume()
    {
        _resumeKey = _lastKey;
        _toSkip = _countAtLast;
    }

    /// <summary>Writes the lines of one frame that were not copied before, and saves the new position.</summary>
    internal void Append(byte[] payload)
    {
        var output = new MemoryStream();
        var start = 0;
        while (start < payload.Length)
        {
            var end = Array.IndexOf(payload, (byte)'\n', start);
            var next = end < 0 ? payload.Length : end + 1;
            var line = payload.AsSpan(start, next - start);
            start = next;

            var space = line.IndexOf((byte)' ');
            if (space <= 0)
            {
                output.Write(line);
                continue;
            }

            var timestamp = Encoding.ASCII.GetString(line[..space]);
            if (ParseTimestamp(timestamp) is not { } key)
            {
                output.Write(line);
                continue;
            }

            if (_resumeKey is { } resume)
            {
                if (key.CompareTo(resume) < 0)
                {
                    continue;
                }

                if (key == resume && _toSkip > 0)
                {
                    _toSkip--;
                    continue;
                }
            }

            output.Write(line[(space + 1)..]);
            if (_lastKey == key)
            {
                _countAtLast++;
            }
            else
            {
                _lastKey = key;
                _countAtLast = 1;
            }

            _lastTimestamp = timestamp;
        }

        if (output.Length > 0)
        {
            using (var file = new FileStream(_logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            {
                output.WriteTo(file);
            }

            SavePosition();
        }
    }

    internal void LoadPosition()
    {
        try
        {
            if (File.Exists(_positionPath)
                && JsonSerializer.Deserialize(File.ReadAllText(_positionPath), DockerJsonContext.Default.DockerLogPosition) is { } position
                && ParseTimestamp(position.Timestamp) is { } key)
            {
                _lastKey = key;
                _lastTimestamp = position.Timestamp;
                _countAtLast = position.Count;
            }
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            LogFollowFailed(_containerId, $"unreadable log position, copying the whole log: {e.Message}");
        }
    }

    private void SavePosition()
    {
        if (_lastTimestamp is null)
        {
            return;
        }

        var json = JsonSerializer.Serialize(new DockerLogPosition { Timestamp = _lastTimestamp, Count = _countAtLast }, DockerJsonContext.Default.DockerLogPosition);
        var temp = _positionPath + ".tmp";
        File.WriteAllText(temp, json);
        File.Move(temp, _positionPath, overwrite: true);
    }

    /// <summary>An RFC 3339 timestamp with up to nanosecond precision as (UNIX seconds, nanoseconds), or null.</summary>
    internal static (long Seconds, int Nanos)? ParseTimestamp(string text)
    {
        var nanos = 0;
        var rest = text;
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            var digits = text[(dot + 1)..end];
            if (digits.Length is 0 or > 9)
            {
                return null;
            }

            nanos = int.Parse(digits.PadRight(9, '0'), CultureInfo.InvariantCulture);
            rest = text[..dot] + text[end..];
        }

        return DateTimeOffset.TryParse(rest, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? (time.ToUnixTimeSeconds(), nanos)
            : null;
    }

    [LoggerMessage(EventId = 5521, Level = LogLevel.Warning, Message = "Following the log of container {ContainerId} failed, retrying: {Reason}")]
    private partial void LogFollowFailed(string containerId, string reason);
}
