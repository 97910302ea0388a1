using Microsoft.Extensions.Logging.Abstractions;
using Verge.Agent.Drivers;
using Verge.Agent.Drivers.Runc;
using Verge.Agent.Images;
using Verge.Agent.Tests.Support;

namespace Verge.Agent.Tests.Drivers.Runc;

/// <summary>
/// A runc driver over a temp root and a busybox image. Containers land in a cgroup parent of their own under the
/// test process's cgroup; disposing destroys every task started through it and removes the cgroup parent.
/// </summary>
internal sealed class RuncHarness : IAsyncDisposable
{
    private readonly List<TaskHandle> _handles = [];
    private readonly string _cgroupParent = "verge-test-" + Guid.NewGuid().ToString("N")[..12];

    public RuncHarness(ImageConfig? imageConfig = null, bool useOverlay = true)
    {
        Tools.RequireRoot();
        Tools.Require("runc", "runc");
        Image = new BusyboxImage(imageConfig);
        Root = Directory.CreateTempSubdirectory("verge-runc-").FullName;
        Options = new RuncDriverOptions
        {
            Root = Root,
            CgroupParent = _cgroupParent,
            UseOverlay = useOverlay,
            ExitPollInterval = TimeSpan.FromMilliseconds(50),
        };
        Driver = NewDriver();
    }

    public BusyboxImage Image { get; }

    public string Root { get; }

    public RuncDriverOptions Options { get; }

    public RuncDriver Driver { get; }

    /// <summary>A second driver instance over the same state, as after an agent restart.</summary>
    public RuncDriver NewDriver() => new(Options, Image, NullLogger<RuncDriver>.Instance, TimeProvider.System);

    public TaskConfig Task(params string[] command) => new()
    {
        Id = "t-" + Guid.NewGuid().ToString("N")[..12],
        PodUid = Guid.NewGuid().ToString(),
        PodNamespace = "default",
        PodName = "pod",
        ContainerName = "main",
        Image = Image.Image,
        ImageReference = BusyboxImage.Reference,
        Command = command.Length > 0 ? command : null,
        LogPath = Path.Combine(Root, "logs", Guid.NewGuid().ToString("N") + ".log"),
    };

    public async Task<TaskHandle> StartAsync(TaskConfig config)
    {
        var handle = await Driver.StartAsync(config, Timeout);
        _handles.Add(handle);
        return handle;
    }

    public static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    /// <summary>Polls the log until it contains <paramref name="text"/>, failing after a deadline.</summary>
    public static async Task<string> WaitForLogAsync(TaskConfig config, string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var log = File.Exists(config.LogPath) ? await File.ReadAllTextAsync(config.LogPath) : string.Empty;
            if (log.Contains(text, StringComparison.Ordinal))
            {
                return log;
            }

            Assert.True(DateTime.UtcNow < deadline, $"log never contained '{text}'; it holds:\n{log}");
            await System.Threading.Tasks.Task.Delay(50);
        }
    }

    /// <summary>Polls until the task's monitor has written its exit file, without asking the driver.</summary>
    public async Task WaitForExitFileAsync(TaskConfig config)
    {
        var exitFile = Path.Combine(Root, "bundles", config.Id, "exit");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(exitFile))
        {
            Assert.True(DateTime.UtcNow < deadline, $"task {config.Id} never wrote {exitFile}");
            await System.Threading.Tasks.Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var handle in _handles)
        {
            await Driver.DestroyAsync(handle, CancellationToken.None);
        }

        // runc nests a relative cgroup parent under the test process's own cgroup in every hierarchy.
        foreach (var line in File.ReadLines("/proc/self/cgroup"))
        {
            var parts = line.Split(':', 3);
            var hierarchy = parts[1].Length == 0 ? "unified" : parts[1].Split(',')[0].Replace("name=", "", StringComparison.Ordinal);
            foreach (var dir in new[] { $"/sys/fs/cgroup/{hierarchy}{parts[2]}/{_cgroupParent}", $"/sys/fs/cgroup{parts[2]}/{_cgroupParent}" })
            {
                await RemoveCgroupAsync(dir);
            }
        }

        Directory.Delete(Root, recursive: true);
        Image.Dispose();
    }

    /// <summary>
    /// Removes an emptied cgroup. The kernel refuses (EBUSY) until the last task of a destroyed container has been
    /// reaped, which on a loaded machine can trail DestroyAsync slightly: poll until it goes.
    /// </summary>
    private static async Task RemoveCgroupAsync(string dir)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (Directory.Exists(dir))
        {
            try
            {
                Directory.Delete(dir);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await System.Threading.Tasks.Task.Delay(50);
            }
        }
    }
}
