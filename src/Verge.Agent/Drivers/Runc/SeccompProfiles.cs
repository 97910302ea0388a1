using System.Runtime.InteropServices;
using System.Text.Json;

namespace Verge.Agent.Drivers.Runc;

/// <summary>
/// The seccomp filters of the runc driver: the built-in RuntimeDefault profile, and Localhost profiles in the Docker
/// profile format that containerd and CRI-O read (the format of Docker's own default.json).
/// </summary>
internal static class SeccompProfiles
{
    private const string Allow = "SCMP_ACT_ALLOW";
    private const string Errno = "SCMP_ACT_ERRNO";
    private const uint Enosys = 38;

    /// <summary>The namespace flags of clone(2) (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET).</summary>
    private const ulong CloneNamespaceFlags = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

    /// <summary>
    /// System calls every container may make: what ordinary programs, language runtimes and libcs use. Left out, and
    /// so failing with EPERM: kernel keyrings, module loading, mounts and namespaces, kexec and reboot, clock setting,
    /// swap, accounting, ptrace of other processes, BPF and perf, userfaultfd, io_uring, and anything newer than this
    /// list (runc answers those with ENOSYS, so libcs fall back to older calls). Some of those come back below with
    /// the capability that guards them anyway, as in Docker's and containerd's profiles.
    /// </summary>
    private static readonly string[] Allowed =
    [
        "accept", "accept4", "access", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir", "chmod", "chown",
        "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
        "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
        "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
        "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit",
        "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir",
        "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr",
        "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
        "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait",
        "futex_waitv", "futex_wake", "futimesat", "get_mempolicy", "get_robust_list", "get_thread_area", "getcpu",
        "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
        "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
        "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "getrusage", "getsid",
        "getsockname", "getsockopt", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch",
        "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
        "io_pgetevents_time64", "io_setup", "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc", "kill",
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr",
        "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat",
        "lstat64", "madvise", "map_shadow_stack", "mbind", "membarrier", "memfd_create", "mincore", "mkdir", "mkdirat",
        "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify",
        "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink",
        "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep",
        "newfstatat", "_newselect", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe",
        "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64",
        "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev",
        "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
        "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
        "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
        "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
        "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
        "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget",
        "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
        "set_mempolicy", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32", "setfsuid",
        "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority",
        "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
        "setrlimit", "setsid", "setsockopt", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget",
        "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socket", "socketcall",
        "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
        "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
        "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
        "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
        "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64",
        "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
    ];

    /// <summary>System calls allowed only with the capability that guards them in the kernel too.</summary>
    private static readonly (string Capability, string[] Names)[] ByCapability =
    [
        ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
        ("CAP_SYS_ADMIN",
        [
            "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
            "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_tree", "perf_event_open", "quotactl",
            "quotactl_fd", "setdomainname", "sethostname", "setns", "umount", "umount2", "unshare",
        ]),
        ("CAP_SYS_BOOT", ["reboot"]),
        ("CAP_SYS_CHROOT", ["chroot"]),
        ("CAP_SYS_MODULE", ["delete_module", "finit_module", "init_module", "query_module"]),
        ("CAP_SYS_PACCT", ["acct"]),
        ("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"]),
        ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
        ("CAP_SYS_TIME", ["adjtimex", "settimeofday", "stime", "clock_settime", "clock_settime64"]),
        ("CAP_SYS_TTY_CONFIG", ["vhangup"]),
        ("CAP_SYSLOG", ["syslog"]),
        ("CAP_BPF", ["bpf"]),
        ("CAP_PERFMON", ["perf_event_open"]),
    ];

    /// <summary>
    /// The RuntimeDefault profile for a task with <paramref name="capabilities"/> (its bounding set): deny by default
    /// with EPERM, allow the list above, the capability-guarded calls the task's capabilities cover, personality(2)
    /// only for the Linux and 32-bit personas, and clone(2) without namespace flags unless the task has SYS_ADMIN.
    /// clone3(2) answers ENOSYS without SYS_ADMIN, because its flags cannot be inspected and libcs then use clone(2).
    /// </summary>
    public static OciSeccomp RuntimeDefault(IReadOnlyList<string> capabilities)
    {
        var syscalls = new List<OciSyscall> { new() { Names = [.. Allowed, .. ArchitectureSpecific()], Action = Allow } };
        foreach (var persona in new ulong[] { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff })
        {
            syscalls.Add(new OciSyscall { Names = ["personality"], Action = Allow, Args = [new OciSeccompArg(0, persona, 0, "SCMP_CMP_EQ")] });
        }

        var guarded = ByCapability.Where(rule => capabilities.Contains(rule.Capability)).SelectMany(rule => rule.Names).Distinct().ToList();
        if (guarded.Count > 0)
        {
            syscalls.Add(new OciSyscall { Names = guarded, Action = Allow });
        }

        if (!capabilities.Contains("CAP_SYS_ADMIN"))
        {
            syscalls.Add(new OciSyscall
            {
                Names = ["clone"],
                Action = Allow,
                Args = [new OciSeccompArg(0, CloneNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ")],
            });
            syscalls.Add(new OciSyscall { Names = ["clone3"], Action = Errno, ErrnoRet = Enosys });
        }

        return new OciSeccomp
        {
            DefaultAction = Errno,
            Architectures = Architectures(),
            Syscalls = syscalls,
        };
    }

    /// <summary>
    /// A Localhost profile in the Docker format: defaultAction (and defaultErrnoRet), architectures or archMap,
    /// flags, and syscalls with names (or name), action, errnoRet, args and includes/excludes by capability and
    /// architecture. minKernel conditions are not evaluated: such rules apply. Throws
    /// <see cref="DriverException"/> (CreateContainerConfigError) for a file that is not such a profile.
    /// </summary>
    public static OciSeccomp Localhost(string json, string name, IReadOnlyList<string> capabilities)
    {
        SeccompProfileFile? file;
        try
        {
            file = JsonSerializer.Deserialize(json, RuncJsonContext.Default.SeccompProfileFile);
        }
        catch (JsonException e)
        {
            throw new DriverException($"seccomp profile \"{name}\" is not valid JSON: {e.Message}", "CreateContainerConfigError");
        }

        if (file is null || string.IsNullOrEmpty(file.DefaultAction))
        {
            throw new DriverException($"seccomp profile \"{name}\" has no defaultAction", "CreateContainerConfigError");
        }

        var native = Architectures();
        var architectures = file.Architectures?.ToList() ?? [];
        foreach (var map in file.ArchMap ?? [])
        {
            if (native.Count > 0 && map.Architecture == native[0])
            {
                architectures.Add(map.Architecture);
                architectures.AddRange(map.SubArchitectures ?? []);
            }
        }

        var goArch = GoArchitecture();
        var syscalls = new List<OciSyscall>();
        foreach (var rule in file.Syscalls ?? [])
        {
            if (!Applies(rule.Includes, rule.Excludes, capabilities, goArch))
            {
                continue;
            }

            var names = rule.Names?.ToList() ?? [];
            if (!string.IsNullOrEmpty(rule.Name))
            {
                names.Add(rule.Name);
            }

            if (names.Count == 0 || string.IsNullOrEmpty(rule.Action))
            {
                throw new DriverException($"seccomp profile \"{name}\" has a syscall rule without names or action", "CreateContainerConfigError");
            }

            syscalls.Add(new OciSyscall
            {
                Names = names,
                Action = rule.Action,
                ErrnoRet = rule.ErrnoRet,
                Args = rule.Args is { Count: > 0 } args
                    ? [.. args.Select(a => new OciSeccompArg(a.Index, a.Value, a.ValueTwo, a.Op ?? throw new DriverException($"seccomp profile \"{name}\" has an argument rule without op", "CreateContainerConfigError")))]
                    : null,
            });
        }

        return new OciSeccomp
        {
            DefaultAction = file.DefaultAction,
            DefaultErrnoRet = file.DefaultErrnoRet,
            Architectures = architectures.Count > 0 ? architectures.Distinct().ToList() : null,
            Flags = file.Flags,
            Syscalls = syscalls,
        };
    }

    private static bool Applies(SeccompFilter? includes, SeccompFilter? excludes, IReadOnlyList<string> capabilities, string goArch)
    {
        if (includes is not null
            && ((includes.Caps is { Count: > 0 } caps && !caps.All(capabilities.Contains))
                || (includes.Arches is { Count: > 0 } arches && !arches.Contains(goArch))))
        {
            return false;
        }

        return excludes is null
            || !((excludes.Caps is { Count: > 0 } notCaps && notCaps.Any(capabilities.Contains))
                || (excludes.Arches is { Count: > 0 } notArches && notArches.Contains(goArch)));
    }

    /// <summary>The native seccomp architecture first, then those whose binaries it also runs.</summary>
    private static List<string> Architectures() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        Architecture.Arm64 => ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        Architecture.Arm => ["SCMP_ARCH_ARM"],
        _ => [],
    };

    /// <summary>The architecture as Docker profiles name it in includes/excludes (Go's GOARCH).</summary>
    private static string GoArchitecture() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.X86 => "386",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        var other => other.ToString().ToLowerInvariant(),
    };

    private static string[] ArchitectureSpecific() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => ["arch_prctl", "modify_ldt"],
        Architecture.Arm64 or Architecture.Arm => ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"],
        _ => [],
    };
}

/// <summary>A seccomp profile file in the Docker format (the fields Verge reads).</summary>
internal sealed record SeccompProfileFile
{
    public string? DefaultAction { get; init; }

    public uint? DefaultErrnoRet { get; init; }

    public IReadOnlyList<string>? Architectures { get; init; }

    public IReadOnlyList<SeccompArchMap>? ArchMap { get; init; }

    public IReadOnlyList<string>? Flags { get; init; }

    public IReadOnlyList<SeccompRule>? Syscalls { get; init; }
}

internal sealed record SeccompArchMap(string Architecture, IReadOnlyList<string>? SubArchitectures);

internal sealed record SeccompRule
{
    public IReadOnlyList<string>? Names { get; init; }

    public string? Name { get; init; }

    public string? Action { get; init; }

    public uint? ErrnoRet { get; init; }

    public IReadOnlyList<SeccompRuleArg>? Args { get; init; }

    public SeccompFilter? Includes { get; init; }

    public SeccompFilter? Excludes { get; init; }
}

internal sealed record SeccompRuleArg(uint Index, ulong Value, ulong ValueTwo, string? Op);

internal sealed record SeccompFilter(IReadOnlyList<string>? Caps, IReadOnlyList<string>? Arches);
