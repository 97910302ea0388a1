using System.Diagnostics;
using System.Text;
using Verge.Agent.Drivers;
using Verge.Agent.Platform;
using Verge.Core.Core;

namespace Verge.Agent.Pods;

/// <summary>A volume could not be set up; shown as kubelet's FailedMount event.</summary>
internal sealed class VolumeException : Exception
{
    public VolumeException(string volume, string detail)
        : base($"MountVolume.SetUp failed for volume \"{volume}\" : {detail}") => Detail = detail;

    public VolumeException()
    {
        Detail = "";
    }

    public VolumeException(string message, Exception inner)
        : base(message, inner) => Detail = message;

    public string Detail { get; } = "";
}

/// <summary>
/// The volumes of one pod on this node: emptyDir directories under DataDir/pods/UID/volumes (tmpfs for medium
/// Memory), hostPath checked the way kubelet checks its type, and configMap, secret, downwardAPI and projected
/// volumes written as files atomically (kubelet's AtomicWriter layout: a timestamped directory, a "..data" symlink swapped by rename, and one
/// symlink per top-level entry), rewritten when the object changes.
/// </summary>
internal sealed class PodVolumes
{
    private const string DataLink = "..data";
    private readonly string _volumesDir;
    private readonly IPodConfigSource _source;
    private readonly Dictionary<string, string> _paths = new(StringComparer.Ordinal);
    private readonly HashSet<string> _tmpfs = new(StringComparer.Ordinal);
    private readonly PodRuntimeFacts _facts;

    /// <summary>The volumes under <paramref name="podDir"/>; <paramref name="facts"/> give downward API files the node's capacity.</summary>
    public PodVolumes(string podDir, IPodConfigSource source, PodRuntimeFacts? facts = null)
    {
        _volumesDir = Path.Combine(podDir, "volumes");
        _source = source;
        _facts = facts ?? new PodRuntimeFacts("", null, null, 0, 0);
    }

    /// <summary>kubelet's default mode of written volume files, 0644.</summary>
    private const int DefaultMode = 420;

    /// <summary>Sets up every volume of the pod (idempotent); throws <see cref="VolumeException"/>.</summary>
    public async Task PrepareAsync(Pod pod, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(pod);
        foreach (var volume in pod.Spec.Volumes ?? [])
        {
            ct.ThrowIfCancellationRequested();
            _paths[volume.Name] = await PrepareOneAsync(pod, volume, ct);
        }
    }

    /// <summary>
    /// Rewrites configMap, secret, downwardAPI and projected volumes whose content changed (an object changed, or
    /// the pod's labels or annotations); returns whether any did.
    /// </summary>
    public bool Refresh(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var changed = false;
        foreach (var volume in pod.Spec.Volumes ?? [])
        {
            if (IsWritten(volume) && _paths.ContainsKey(volume.Name))
            {
                try
                {
                    changed |= WriteProjected(pod, volume);
                }
                catch (VolumeException)
                {
                    // The object went away or lost a key: keep the files as they were, as kubelet does.
                }
            }
        }

        return changed;
    }

    /// <summary>The mounts of one container, from its volumeMounts.</summary>
    public IReadOnlyList<TaskMount> MountsFor(Pod pod, Container container)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(container);
        var mounts = new List<TaskMount>();
        foreach (var mount in container.VolumeMounts ?? [])
        {
            if (!_paths.TryGetValue(mount.Name, out var hostPath))
            {
                throw new ContainerConfigException($"cannot find volume \"{mount.Name}\" to mount into container \"{container.Name}\"");
            }

            var volume = pod.Spec.Volumes!.First(v => v.Name == mount.Name);
            if (mount.SubPath is { Length: > 0 } sub)
            {
                if (Path.IsPathRooted(sub) || sub.Split('/').Contains(".."))
                {
                    throw new ContainerConfigException($"subPath \"{sub}\" must be a relative path without \"..\"");
                }

                hostPath = Path.Combine(hostPath, sub);
                if (volume.EmptyDir is not null && !Path.Exists(hostPath))
                {
                    Directory.CreateDirectory(hostPath);
                }
            }

            var readOnly = mount.ReadOnly == true || IsWritten(volume);
            mounts.Add(new TaskMount(hostPath, mount.MountPath, readOnly));
        }

        return mounts;
    }

    /// <summary>Unmounts tmpfs volumes and deletes the pod's volume directories (never a hostPath).</summary>
    public async Task CleanUpAsync(CancellationToken ct)
    {
        foreach (var dir in _tmpfs.ToList())
        {
            await RunAsync("umount", ["-l", dir], ct);
            _tmpfs.Remove(dir);
        }

        if (Directory.Exists(_volumesDir))
        {
            // A tmpfs left mounted by an earlier run of the agent: unmount before deleting.
            foreach (var dir in Directory.EnumerateDirectories(_volumesDir))
            {
                if (MountTable.IsMountPoint(dir))
                {
                    await RunAsync("umount", ["-l", dir], ct);
                }
            }

            Directory.Delete(_volumesDir, recursive: true);
        }
    }

    private async Task<string> PrepareOneAsync(Pod pod, Volume volume, CancellationToken ct)
    {
        if (volume.EmptyDir is { } emptyDir)
        {
            var dir = Path.Combine(_volumesDir, volume.Name);
            Directory.CreateDirectory(dir);
            if (string.Equals(emptyDir.Medium, "Memory", StringComparison.Ordinal) && !_tmpfs.Contains(dir))
            {
                if (!MountTable.IsMountPoint(dir))
                {
                    var options = emptyDir.SizeLimit is { IsValid: true, IsZero: false } size ? $"size={size.Value()}" : "size=50%";
                    var (code, output) = await RunAsync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir], ct);
                    if (code != 0)
                    {
                        throw new VolumeException(volume.Name, $"mount of tmpfs failed: {output.Trim()}");
                    }
                }

                _tmpfs.Add(dir);
            }

            // As the kubelet: anyone may write an emptyDir (0777), and with an fsGroup it belongs to that group,
            // which new files inherit (setgid).
            var fsGroup = pod.Spec.SecurityContext?.FsGroup;
            if (fsGroup is { } gid)
            {
                NativeFiles.ChangeGroup(dir, gid);
            }

            SetMode(dir, fsGroup is null ? 0x1FF : 0x1FF | (int)UnixFileMode.SetGroup);
            return dir;
        }

        if (volume.HostPath is { } hostPath)
        {
            await CheckHostPathAsync(volume.Name, hostPath, ct);
            return hostPath.Path;
        }

        if (IsWritten(volume))
        {
            WriteProjected(pod, volume);
            return Path.Combine(_volumesDir, volume.Name);
        }

        throw new VolumeException(volume.Name, "volume type is not supported on this node (emptyDir, hostPath, configMap, secret, downwardAPI and projected are)");
    }

    private static async Task CheckHostPathAsync(string volume, HostPathVolumeSource source, CancellationToken ct)
    {
        var path = source.Path;
        if (string.IsNullOrEmpty(path) || !Path.IsPathRooted(path))
        {
            throw new VolumeException(volume, $"hostPath \"{path}\" must be an absolute path");
        }

        switch (source.Type ?? "")
        {
            case "":
                return;
            case "DirectoryOrCreate":
                if (!Directory.Exists(path))
                {
                    if (File.Exists(path))
                    {
                        throw new VolumeException(volume, $"hostPath type check failed: {path} is not a directory");
                    }

                    Directory.CreateDirectory(path);
                    SetMode(path, Convert.ToInt32("755", 8));
                }

                return;
            case "Directory":
                if (!Directory.Exists(path))
                {
                    throw new VolumeException(volume, $"hostPath type check failed: {path} is not a directory");
                }

                return;
            case "FileOrCreate":
                if (Directory.Exists(path))
                {
                    throw new VolumeException(volume, $"hostPath type check failed: {path} is not a file");
                }

                if (!File.Exists(path))
                {
                    if (Path.GetDirectoryName(path) is { } parent && !Directory.Exists(parent))
                    {
                        throw new VolumeException(volume, $"hostPath type check failed: the parent directory of {path} does not exist");
                    }

                    await using (File.Create(path))
                    {
                    }

                    SetMode(path, Convert.ToInt32("644", 8));
                }

                return;
            case "File":
                if (!File.Exists(path) || Directory.Exists(path))
                {
                    throw new VolumeException(volume, $"hostPath type check failed: {path} is not a file");
                }

                return;
            case "Socket":
            case "CharDevice":
            case "BlockDevice":
                var expected = source.Type switch
                {
                    "Socket" => ("socket", "a socket file"),
                    "CharDevice" => ("character special file", "a character device"),
                    _ => ("block special file", "a block device"),
                };
                var (code, output) = await RunAsync("stat", ["-L", "-c", "%F", path], ct);
                if (code != 0 || !string.Equals(output.Trim(), expected.Item1, StringComparison.Ordinal))
                {
                    throw new VolumeException(volume, $"hostPath type check failed: {path} is not {expected.Item2}");
                }

                return;
            default:
                throw new VolumeException(volume, $"hostPath type \"{source.Type}\" is not supported");
        }
    }

    /// <summary>Whether the volume's files are written by the agent (and so rewritten when their sources change).</summary>
    private static bool IsWritten(Volume volume) =>
        volume.ConfigMap is not null || volume.Secret is not null || volume.DownwardAPI is not null || volume.Projected is not null;

    private bool WriteProjected(Pod pod, Volume volume)
    {
        var payload = new SortedDictionary<string, (byte[] Content, int Mode)>(StringComparer.Ordinal);
        if (volume.ConfigMap is { } cm)
        {
            AddKeys(pod, volume.Name, "configmap", cm.Name, cm.Items, cm.Optional == true, cm.DefaultMode ?? DefaultMode, payload);
        }
        else if (volume.Secret is { } secret)
        {
            AddKeys(pod, volume.Name, "secret", secret.SecretName, secret.Items, secret.Optional == true, secret.DefaultMode ?? DefaultMode, payload);
        }
        else if (volume.DownwardAPI is { } downwardApi)
        {
            AddDownwardApi(pod, volume.Name, downwardApi.Items, downwardApi.DefaultMode ?? DefaultMode, payload);
        }
        else
        {
            // A projected volume: every source into one directory, in order, with the volume's default mode.
            var projected = volume.Projected!;
            var mode = projected.DefaultMode ?? DefaultMode;
            foreach (var source in projected.Sources ?? [])
            {
                if (source.ConfigMap is { } cmSource)
                {
                    AddKeys(pod, volume.Name, "configmap", cmSource.Name, cmSource.Items, cmSource.Optional == true, mode, payload);
                }
                else if (source.Secret is { } secretSource)
                {
                    AddKeys(pod, volume.Name, "secret", secretSource.Name, secretSource.Items, secretSource.Optional == true, mode, payload);
                }
                else if (source.DownwardAPI is { } downwardSource)
                {
                    AddDownwardApi(pod, volume.Name, downwardSource.Items, mode, payload);
                }
                else
                {
                    throw new VolumeException(volume.Name, "projected source is not supported on this node (configMap, secret and downwardAPI are)");
                }
            }
        }

        // With an fsGroup, the files belong to that group and it may read them (the kubelet's SetVolumeOwnership for a
        // read-only volume: group read on files, and read, search and setgid on directories).
        var fsGroup = pod.Spec.SecurityContext?.FsGroup;
        if (fsGroup is not null)
        {
            foreach (var key in payload.Keys.ToList())
            {
                payload[key] = (payload[key].Content, payload[key].Mode | 0x120);
            }
        }

        return AtomicWrite(Path.Combine(_volumesDir, volume.Name), payload, fsGroup);
    }

    /// <summary>
    /// The keys of a ConfigMap or Secret (or the listed items, with their paths and modes) as files. A missing object
    /// or key fails with the kubelet's message unless optional; an optional missing object adds nothing.
    /// </summary>
    private void AddKeys(
        Pod pod, string volume, string kind, string? name, List<KeyToPath>? items, bool optional, int defaultMode,
        SortedDictionary<string, (byte[] Content, int Mode)> payload)
    {
        var ns = pod.Metadata.Namespace ?? "default";
        Dictionary<string, byte[]>? data = null;
        if (kind == "configmap")
        {
            if (_source.GetConfigMap(ns, name ?? "") is { } cm)
            {
                data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
                foreach (var (key, value) in cm.Data ?? [])
                {
                    data[key] = Encoding.UTF8.GetBytes(value);
                }

                foreach (var (key, value) in cm.BinaryData ?? [])
                {
                    data[key] = value;
                }
            }
        }
        else if (_source.GetSecret(ns, name ?? "") is { } secret)
        {
            data = EnvResolver.SecretData(secret).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        }

        if (data is null)
        {
            if (!optional)
            {
                throw new VolumeException(volume, $"{kind} \"{name}\" not found");
            }

            return;
        }

        CheckItems(volume, kind, items, data, optional);
        if (items is { Count: > 0 })
        {
            foreach (var item in items)
            {
                if (data.TryGetValue(item.Key, out var content))
                {
                    payload[ValidRelative(volume, item.Path)] = (content, item.Mode ?? defaultMode);
                }
            }
        }
        else
        {
            foreach (var (key, content) in data)
            {
                payload[ValidRelative(volume, key)] = (content, defaultMode);
            }
        }
    }

    /// <summary>
    /// Downward API files, with the values the kubelet writes: the pod field (labels and annotations as sorted
    /// <c>key="value"</c> lines) or the named container's resource, no trailing newline.
    /// </summary>
    private void AddDownwardApi(
        Pod pod, string volume, List<DownwardApiVolumeFile>? items, int defaultMode, SortedDictionary<string, (byte[] Content, int Mode)> payload)
    {
        foreach (var item in items ?? [])
        {
            string value;
            try
            {
                if (item.FieldRef is { } field)
                {
                    value = PodFields.Value(pod, field, _facts);
                }
                else if (item.ResourceFieldRef is { } resource)
                {
                    var container = pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []).FirstOrDefault(c => c.Name == resource.ContainerName)
                        ?? throw new ContainerConfigException($"container {resource.ContainerName} not found");
                    value = PodFields.ResourceValue(container, resource, _facts);
                }
                else
                {
                    throw new ContainerConfigException("one of fieldRef and resourceFieldRef is required");
                }
            }
            catch (ContainerConfigException e)
            {
                throw new VolumeException(volume, $"error preparing data for downwardAPI volume: {e.Message}");
            }

            payload[ValidRelative(volume, item.Path)] = (Encoding.UTF8.GetBytes(value), item.Mode ?? defaultMode);
        }
    }

    private static void CheckItems(string volume, string kind, List<KeyToPath>? items, Dictionary<string, byte[]> data, bool optional)
    {
        foreach (var item in items ?? [])
        {
            if (!data.ContainsKey(item.Key) && !optional)
            {
                throw new VolumeException(volume, $"{kind} references non-existent {(kind == "secret" ? "secret" : "config")} key: {item.Key}");
            }
        }
    }

    private static string ValidRelative(string volume, string path)
    {
        if (string.IsNullOrEmpty(path) || Path.IsPathRooted(path) || path.Split('/').Any(p => p is ".." or "") || path.StartsWith("..", StringComparison.Ordinal))
        {
            throw new VolumeException(volume, $"invalid path \"{path}\": must be relative, without \"..\" and not start with \"..\"");
        }

        return path;
    }

    /// <summary>Writes the payload into a fresh directory and swaps the "..data" link to it; false when nothing changed.</summary>
    private static bool AtomicWrite(string dir, SortedDictionary<string, (byte[] Content, int Mode)> payload, long? fsGroup = null)
    {
        Directory.CreateDirectory(dir);
        if (fsGroup is { } volumeGroup)
        {
            OwnDirectory(dir, volumeGroup);
        }

        var dataDir = Path.Combine(dir, DataLink);
        if (Directory.Exists(dataDir) && SameContent(dataDir, payload))
        {
            return false;
        }

        var previous = Directory.Exists(dataDir) ? new FileInfo(dataDir).LinkTarget : null;
        var fresh = "..data_" + Guid.NewGuid().ToString("N");
        var freshPath = Path.Combine(dir, fresh);
        Directory.CreateDirectory(freshPath);
        foreach (var (relative, (content, mode)) in payload)
        {
            var file = Path.Combine(freshPath, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllBytes(file, content);
            SetMode(file, mode);
            if (fsGroup is { } gid)
            {
                NativeFiles.ChangeGroup(file, gid);
            }
        }

        if (fsGroup is { } group)
        {
            OwnDirectory(freshPath, group);
            foreach (var sub in Directory.EnumerateDirectories(freshPath, "*", SearchOption.AllDirectories))
            {
                OwnDirectory(sub, group);
            }
        }

        var tmpLink = Path.Combine(dir, "..data_tmp");
        if (File.Exists(tmpLink) || Directory.Exists(tmpLink))
        {
            File.Delete(tmpLink);
        }

        File.CreateSymbolicLink(tmpLink, fresh);
        NativeFiles.Rename(tmpLink, dataDir);

        var top = payload.Keys.Select(k => k.Split('/')[0]).ToHashSet(StringComparer.Ordinal);
        foreach (var name in top)
        {
            var link = Path.Combine(dir, name);
            if (new FileInfo(link).LinkTarget is null)
            {
                File.CreateSymbolicLink(link, Path.Combine(DataLink, name));
            }
        }

        foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
        {
            var name = Path.GetFileName(entry);
            if (!name.StartsWith("..", StringComparison.Ordinal) && !top.Contains(name))
            {
                File.Delete(entry);
            }
        }

        if (previous is not null && previous != fresh)
        {
            var old = Path.Combine(dir, previous);
            if (Directory.Exists(old))
            {
                Directory.Delete(old, recursive: true);
            }
        }

        return true;
    }

    private static bool SameContent(string dataDir, SortedDictionary<string, (byte[] Content, int Mode)> payload)
    {
        var existing = Directory.EnumerateFiles(dataDir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dataDir, f)).ToHashSet(StringComparer.Ordinal);
        if (!existing.SetEquals(payload.Keys))
        {
            return false;
        }

        foreach (var (relative, (content, mode)) in payload)
        {
            var file = Path.Combine(dataDir, relative);
            if (GetMode(file) != (mode & 0x1FF) || !File.ReadAllBytes(file).AsSpan().SequenceEqual(content))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A directory of a read-only volume given to the pod's fsGroup: that group, group read and search, setgid.</summary>
    private static void OwnDirectory(string dir, long gid)
    {
        NativeFiles.ChangeGroup(dir, gid);
        SetMode(dir, GetMode(dir) | 0x168 | (int)UnixFileMode.SetGroup);
    }

    private static void SetMode(string path, int mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            // The permission bits and setuid, setgid and sticky (0o7777).
            File.SetUnixFileMode(path, (UnixFileMode)(mode & 0xFFF));
        }
    }

    private static int GetMode(string path) => OperatingSystem.IsWindows() ? 0 : (int)File.GetUnixFileMode(path) & 0x1FF;

    private static async Task<(int Code, string Output)> RunAsync(string file, IReadOnlyList<string> args, CancellationToken ct)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            return (process.ExitCode, await stdout + await stderr);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, $"{file}: {e.Message}");
        }
    }
}

/// <summary>
/// rename(2), which swaps a symlink atomically (File.Move refuses a link to a directory), and lchown(2), which .NET
/// has no API for.
/// </summary>
internal static class NativeFiles
{
    /// <summary>Gives <paramref name="path"/> (a symlink itself, not its target) the group <paramref name="gid"/>.</summary>
    public static void ChangeGroup(string path, long gid)
    {
        var native = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8(path);
        try
        {
            if (LchownNative(native, uint.MaxValue, checked((uint)gid)) != 0)
            {
                throw new IOException($"lchown {path} to group {gid} failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            System.Runtime.InteropServices.Marshal.FreeCoTaskMem(native);
        }
    }

    public static void Rename(string from, string to)
    {
        var source = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8(from);
        var target = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8(to);
        try
        {
            if (RenameNative(source, target) != 0)
            {
                throw new IOException($"rename {from} to {to} failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            System.Runtime.InteropServices.Marshal.FreeCoTaskMem(source);
            System.Runtime.InteropServices.Marshal.FreeCoTaskMem(target);
        }
    }

    // Blittable arguments only: no runtime marshalling, safe under Native AOT without unsafe code.
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "rename", SetLastError = true)]
    [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
    private static extern int RenameNative(nint from, nint to);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "lchown", SetLastError = true)]
    [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
    private static extern int LchownNative(nint path, uint owner, uint group);
}
