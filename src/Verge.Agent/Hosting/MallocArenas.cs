using System.Runtime.InteropServices;

namespace Verge.Agent.Hosting;

/// <summary>
/// One glibc malloc arena for the whole process, as <c>MALLOC_ARENA_MAX=1</c> would give. glibc gives each thread an
/// arena of its own on its first allocation, up to eight per core, and each keeps its own free memory; the agent's
/// native allocations (OpenSSL, SQLite) are few and small, so those arenas were mostly free space: with 10 runc pods,
/// 8.7 MiB anonymous memory with the default and 7.5 MiB with one arena (docs/agent.md, "Memory"). The native agent
/// calls this first thing, before its own threads allocate (a thread the runtime started earlier keeps an arena it
/// already has; <c>MALLOC_ARENA_MAX</c> in the environment is the strict form). An arena limit the operator set in
/// the environment is left as it is.
/// </summary>
public static partial class MallocArenas
{
    private const int ArenaMaxOption = -8; // M_ARENA_MAX in glibc's malloc.h

    /// <summary>Whether the limit was set: false where the environment sets one or the C library is not glibc.</summary>
    public static bool LimitToOne() => LimitToOne(Environment.GetEnvironmentVariable);

    internal static bool LimitToOne(Func<string, string?> environment)
    {
        if (!OperatorLeftItOpen(environment))
        {
            return false;
        }

        try
        {
            return MallOpt(ArenaMaxOption, 1) == 1;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false; // not glibc (musl has one allocator design and no arenas to limit)
        }
    }

    /// <summary>Whether neither <c>MALLOC_ARENA_MAX</c> nor a <c>glibc.malloc.arena_max</c> tunable is set.</summary>
    internal static bool OperatorLeftItOpen(Func<string, string?> environment) =>
        string.IsNullOrEmpty(environment("MALLOC_ARENA_MAX"))
        && environment("GLIBC_TUNABLES")?.Contains("glibc.malloc.arena_max", StringComparison.Ordinal) != true;

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int option, int value);
}
