namespace Verge.Agent.Drivers;

/// <summary>
/// Checks every driver makes before it starts a task, so malformed input fails with a clear
/// <see cref="DriverException"/> (CreateContainerConfigError) instead of an error deep in a runtime.
/// </summary>
internal static class TaskConfigChecks
{
    public static void Validate(TaskConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (string.IsNullOrEmpty(config.Id) || config.Id is "." or ".." || !config.Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
        {
            Fail(config, $"invalid task id \"{config.Id}\" (letters, digits, '_', '.', '-')");
        }

        if (string.IsNullOrWhiteSpace(config.LogPath) || config.LogPath.Contains('\0', StringComparison.Ordinal))
        {
            Fail(config, "the log path is empty or holds a NUL byte");
        }

        foreach (var word in (config.Command ?? []).Concat(config.Args ?? []))
        {
            if (word is null || word.Contains('\0', StringComparison.Ordinal))
            {
                Fail(config, "command and args must not hold NUL bytes");
            }
        }

        foreach (var (key, value) in config.Env)
        {
            if (string.IsNullOrEmpty(key) || key.Contains('=', StringComparison.Ordinal) || key.Contains('\0', StringComparison.Ordinal)
                || value is null || value.Contains('\0', StringComparison.Ordinal))
            {
                Fail(config, $"invalid environment variable \"{key}\": names must be non-empty without '=' and values without NUL bytes");
            }
        }

        foreach (var mount in config.Mounts)
        {
            if (!Path.IsPathRooted(mount.HostPath) || !Path.IsPathRooted(mount.ContainerPath))
            {
                Fail(config, $"mount {mount.HostPath} at {mount.ContainerPath}: both paths must be absolute");
            }
        }

        if (config.WorkingDir is { } dir && !Path.IsPathRooted(dir))
        {
            Fail(config, $"working dir \"{dir}\" must be an absolute path");
        }
    }

    private static void Fail(TaskConfig config, string message) =>
        throw new DriverException($"container {config.ContainerName}: {message}", "CreateContainerConfigError");
}
