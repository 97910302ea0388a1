using Microsoft.Extensions.Logging;

namespace Verge.Agent.Images;

/// <summary>The image store's log messages (event ids 4100-4199).</summary>
internal static partial class ImageStoreLog
{
    [LoggerMessage(EventId = 5800, Level = LogLevel.Information, Message = "Pulling image {Reference}")]
    public static partial void Pulling(ILogger logger, string reference);

    [LoggerMessage(EventId = 5801, Level = LogLevel.Information, Message = "Pulled image {Reference} as {Digest} ({Bytes} bytes downloaded)")]
    public static partial void Pulled(ILogger logger, string reference, string digest, long bytes);

    [LoggerMessage(EventId = 5802, Level = LogLevel.Warning, Message = "Pull of {Reference} failed: {Reason}")]
    public static partial void PullFailed(ILogger logger, string reference, string reason);

    [LoggerMessage(EventId = 5803, Level = LogLevel.Debug, Message = "Registry {Registry} asked for {Scheme} authentication")]
    public static partial void AuthChallenge(ILogger logger, string registry, string scheme);

    [LoggerMessage(EventId = 5804, Level = LogLevel.Information, Message = "Unpacked image {Digest} into {Path}")]
    public static partial void Unpacked(ILogger logger, string digest, string path);

    [LoggerMessage(EventId = 5805, Level = LogLevel.Information, Message = "Skipped {Kind} entry {Name} of layer {Layer}: device nodes and other special files are not created")]
    public static partial void SkippedSpecialFile(ILogger logger, string name, string kind, string layer);

    [LoggerMessage(EventId = 5806, Level = LogLevel.Information, Message = "Imported image {Reference} as {Digest}")]
    public static partial void Imported(ILogger logger, string reference, string digest);

    [LoggerMessage(EventId = 5807, Level = LogLevel.Warning, Message = "Dropped index entry {Reference}: {Reason}")]
    public static partial void DroppedIndexEntry(ILogger logger, string reference, string reason);

    [LoggerMessage(EventId = 5809, Level = LogLevel.Warning, Message = "Registry unreachable for {Reference}, using the cached image (pull policy Always): {Reason}")]
    public static partial void UsingCachedImage(ILogger logger, string reference, string reason);

    [LoggerMessage(EventId = 5808, Level = LogLevel.Information, Message = "Skipped {Descriptor} of the archive: {Reason}")]
    public static partial void SkippedArchiveImage(ILogger logger, string descriptor, string reason);
}
