namespace Verge.Agent.Drivers.Docker;

/// <summary>Settings of the docker driver.</summary>
internal sealed record DockerDriverOptions
{
    /// <summary>The Docker Engine API endpoint: a unix socket, as unix:///var/run/docker.sock.</summary>
    public string Socket { get; init; } = "unix:///var/run/docker.sock";

    /// <summary>Where the driver keeps how far each task's log was copied, to resume after an agent restart.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>The API version every request names (the paths start with it).</summary>
    public string ApiVersion { get; init; } = "v1.41";

    /// <summary>Names of the containers the driver creates: PREFIX + task id.</summary>
    public string ContainerNamePrefix { get; init; } = "verge-";

    /// <summary>The longest a plain request (not a pull, wait, log or exec stream) may take.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a log follower waits before it reconnects after the engine dropped the stream.</summary>
    public TimeSpan LogRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long WaitAsync gives the log follower to copy the last output after the task exited.</summary>
    public TimeSpan LogDrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The unix socket path named by <see cref="Socket"/>.</summary>
    public string SocketPath => Socket.StartsWith("unix://", StringComparison.Ordinal) ? Socket["unix://".Length..] : Socket;

    public void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Socket);
        ArgumentException.ThrowIfNullOrEmpty(StateDirectory);
        if (!Path.IsPathRooted(SocketPath) || (Socket.Contains("://", StringComparison.Ordinal) && !Socket.StartsWith("unix://", StringComparison.Ordinal)))
        {
            throw new ArgumentException($"Socket must be unix:///ABSOLUTE/PATH (got \"{Socket}\"); TCP endpoints are not supported");
        }

        if (!Path.IsPathRooted(StateDirectory))
        {
            throw new ArgumentException("StateDirectory must be an absolute path");
        }

        if (!ApiVersion.StartsWith('v') || ApiVersion.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"ApiVersion must look like v1.41 (got \"{ApiVersion}\")");
        }

        if (RequestTimeout <= TimeSpan.Zero || LogRetryDelay <= TimeSpan.Zero || LogDrainTimeout < TimeSpan.Zero)
        {
            throw new ArgumentException("RequestTimeout and LogRetryDelay must be positive, LogDrainTimeout not negative");
        }
    }
}
