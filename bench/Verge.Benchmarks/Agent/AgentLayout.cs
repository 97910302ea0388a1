using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Verge.Benchmarks.Agent;

/// <summary>
/// Writes the code layout of the Native AOT agent (<c>src/Verge.AgentHost/agent.order</c>): the methods the agent
/// runs, first, so that they share pages instead of being spread over the whole binary (docs/agent.md, "Code
/// layout"). Runs the agent harness with a build made with <c>-p:VergeLayoutProfile=true</c>, whose methods set a flag
/// on entry (the compiler's reachability instrumentation, which leaves generic code out), and puts a uprobe on every
/// method without a flag to see the rest. Needs root, tracefs and binutils' <c>nm</c>.
/// </summary>
internal static class AgentLayout
{
    private const string Tracing = "/sys/kernel/tracing";
    private const string ProbeGroup = "vergelayout";
    private const string FlagPrefix = "__tokenuse_";

    public static async Task<int> RunAsync(string[] args)
    {
        string? output = null;
        var harnessArgs = new List<string> { "--builds", "aot" };
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--out" && i + 1 < args.Length)
            {
                output = args[++i];
            }
            else
            {
                harnessArgs.Add(args[i]);
            }
        }

        var options = AgentHarnessOptions.Parse([.. harnessArgs]);
        if (output is null || options.AgentBinary is null)
        {
            Console.Error.WriteLine("agent-layout needs --agent (a build published with -p:VergeLayoutProfile=true) and --out (see Verge.Benchmarks' usage)");
            return 2;
        }

        var agent = Path.GetFullPath(options.AgentBinary);
        var image = ElfImage.Read(agent);
        var symbols = await FunctionsAsync(agent + ".dbg");
        var flags = symbols.Flags;
        if (flags.Count == 0)
        {
            Console.Error.WriteLine($"{agent} has no reachability flags: publish it with -p:VergeLayoutProfile=true");
            return 2;
        }

        // A flagged method's code stores 1 into its flag first: mov byte ptr [rip+disp32], 1 (C6 05 disp32 01).
        var flagOf = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var f in symbols.Functions)
        {
            var code = image.Bytes(f.Address, (int)Math.Min(f.Size, 96));
            for (var i = 0; i + 7 <= code.Length; i++)
            {
                if (code[i] == 0xC6 && code[i + 1] == 0x05 && code[i + 6] == 1)
                {
                    var target = f.Address + (ulong)i + 7 + (ulong)(long)BinaryPrimitives.ReadInt32LittleEndian(code[(i + 2)..]);
                    if (flags.Contains(target))
                    {
                        flagOf[f.Name] = target;
                        break;
                    }
                }
            }
        }

        var managed = image.Section("__managedcode");
        var probed = symbols.Functions.Where(f => !flagOf.ContainsKey(f.Name) && f.Address >= managed.Start && f.Address < managed.End).ToList();
        Console.WriteLine($"{symbols.Functions.Count} functions, {flagOf.Count} with a flag, uprobes on {probed.Count} without one");

        var flagLow = flags.Min();
        var flagBytes = new byte[(int)(flags.Max() - flagLow + 1)];
        var hits = new ConcurrentDictionary<int, bool>();
        using var stop = new CancellationTokenSource();
        RegisterProbes(agent, image, probed);
        int result;
        try
        {
            var flagReader = Task.Run(() => ReadFlagsAsync(agent, flagLow, flagBytes, stop.Token));
            _ = Task.Factory.StartNew(() => ReadProbeHits(hits, stop.Token), TaskCreationOptions.LongRunning);
            result = await AgentHarness.RunAsync(options);
            await stop.CancelAsync();
            await flagReader;
            // The trace pipe reader stays blocked in its read on a background thread; what it sees from here on is
            // the harness's own shutdown.
        }
        finally
        {
            Console.WriteLine("removing the uprobes (this takes a while)");
            UnregisterProbes();
        }

        var chosen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, flag) in flagOf)
        {
            if (flagBytes[(int)(flag - flagLow)] != 0)
            {
                chosen.Add(name);
            }
        }

        var flagged = chosen.Count;
        foreach (var index in hits.Keys)
        {
            chosen.Add(probed[index].Name);
        }

        var ordered = symbols.Functions.Where(f => chosen.Contains(f.Name)).OrderBy(f => f.Address).ToList();
        await File.WriteAllLinesAsync(output, ordered.Select(f => f.Name));
        Console.WriteLine($"{ordered.Count} methods ran ({flagged} flagged, {hits.Count} seen by uprobes), " +
            $"{ordered.Sum(f => (double)f.Size) / 1048576:F2} of {symbols.Functions.Sum(f => (double)f.Size) / 1048576:F2} MiB of code; written to {output}");
        return result;
    }

    private sealed record Function(ulong Address, ulong Size, string Name);

    private sealed record Symbols(List<Function> Functions, HashSet<ulong> Flags);

    /// <summary>Functions (text symbols with a size) and reachability flags, from <c>nm</c> over the debug file.</summary>
    private static async Task<Symbols> FunctionsAsync(string debugFile)
    {
        if (!File.Exists(debugFile))
        {
            throw new FileNotFoundException($"{debugFile} not found: the symbols come from the publish output's .dbg file", debugFile);
        }

        var psi = new ProcessStartInfo("nm", ["-S", "--defined-only", debugFile]) { RedirectStandardOutput = true };
        using var nm = Process.Start(psi) ?? throw new InvalidOperationException("cannot start nm (apt-get install binutils)");
        var functions = new List<Function>();
        var flags = new HashSet<ulong>();
        while (await nm.StandardOutput.ReadLineAsync() is { } line)
        {
            var parts = line.Split(' ');
            if (parts.Length == 4 && parts[2] is "t" or "T")
            {
                functions.Add(new Function(Hex(parts[0]), Hex(parts[1]), parts[3]));
            }
            else if (parts.Length >= 3 && parts[^1].StartsWith(FlagPrefix, StringComparison.Ordinal) && parts[^1] != FlagPrefix + "begin")
            {
                flags.Add(Hex(parts[0]));
            }
        }

        await nm.WaitForExitAsync();
        return new Symbols(functions, flags);
    }

    private static ulong Hex(string s) => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>Every agent process of this binary: its flags are read from its memory and kept once set.</summary>
    private static async Task ReadFlagsAsync(string agent, ulong low, byte[] union, CancellationToken ct)
    {
        var buffer = new byte[union.Length];
        while (true)
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                try
                {
                    if (!int.TryParse(Path.GetFileName(dir), out _) || new FileInfo(dir + "/exe").LinkTarget != agent)
                    {
                        continue;
                    }

                    using var mem = new FileStream(dir + "/mem", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
                    mem.Seek((long)low, SeekOrigin.Begin);
                    mem.ReadExactly(buffer);
                    for (var i = 0; i < buffer.Length; i++)
                    {
                        union[i] |= buffer[i];
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The process ended between listing and reading.
                }
            }

            if (ct.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
            catch (OperationCanceledException)
            {
                // One more pass above would read a process that has already gone; the last pass was a second ago.
                return;
            }
        }
    }

    private static void RegisterProbes(string agent, ElfImage image, List<Function> probed)
    {
        File.WriteAllText(Tracing + "/buffer_size_kb", "65536");
        // One definition per write: the kernel parses one line of uprobe_events per write call.
        using (var events = new FileStream(Tracing + "/uprobe_events", FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1))
        {
            for (var i = 0; i < probed.Count; i++)
            {
                events.Write(System.Text.Encoding.ASCII.GetBytes($"p:{ProbeGroup}/m{i} {agent}:0x{image.FileOffset(probed[i].Address):x}\n"));
            }
        }

        File.WriteAllText($"{Tracing}/events/{ProbeGroup}/enable", "1");
    }

    /// <summary>Records each probe's first hit and disables it, so that a method called often costs one trap.</summary>
    private static void ReadProbeHits(ConcurrentDictionary<int, bool> hits, CancellationToken ct)
    {
        using var pipe = new StreamReader(Tracing + "/trace_pipe");
        while (!ct.IsCancellationRequested && pipe.ReadLine() is { } line)
        {
            // "  verge-agent-123 [000] ..... 1.23: m456: (0x...)"
            var start = line.IndexOf(" m", StringComparison.Ordinal);
            var end = start < 0 ? -1 : line.IndexOf(':', start);
            if (end > start + 2 && int.TryParse(line.AsSpan(start + 2, end - start - 2), CultureInfo.InvariantCulture, out var index)
                && hits.TryAdd(index, true))
            {
                try
                {
                    File.WriteAllText($"{Tracing}/events/{ProbeGroup}/m{index}/enable", "0");
                }
                catch (IOException)
                {
                    // Already disabled.
                }
            }
        }
    }

    private static void UnregisterProbes()
    {
        if (Directory.Exists($"{Tracing}/events/{ProbeGroup}"))
        {
            File.WriteAllText($"{Tracing}/events/{ProbeGroup}/enable", "0");
            // "-:GROUP/" removes every event of the group at once.
            File.AppendAllText(Tracing + "/uprobe_events", $"-:{ProbeGroup}/\n");
        }
    }

    /// <summary>The parts of an ELF64 file this tool needs: its loaded segments and its section headers.</summary>
    private sealed class ElfImage
    {
        private readonly byte[] _file;
        private readonly List<(ulong Vaddr, ulong Offset, ulong Size)> _segments = [];
        private readonly Dictionary<string, (ulong Start, ulong End)> _sections = new(StringComparer.Ordinal);

        private ElfImage(byte[] file)
        {
            _file = file;
            var span = file.AsSpan();
            if (span.Length < 64 || !span[..4].SequenceEqual((ReadOnlySpan<byte>)[0x7F, (byte)'E', (byte)'L', (byte)'F']) || span[4] != 2)
            {
                throw new InvalidDataException("not an ELF64 file");
            }

            var phoff = BinaryPrimitives.ReadUInt64LittleEndian(span[0x20..]);
            var shoff = BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]);
            int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x36..]), phnum = BinaryPrimitives.ReadUInt16LittleEndian(span[0x38..]);
            int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]), shnum = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);
            int shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3E..]);
            for (var i = 0; i < phnum; i++)
            {
                var ph = span[(int)(phoff + (ulong)(i * phentsize))..];
                if (BinaryPrimitives.ReadUInt32LittleEndian(ph) == 1)
                {
                    _segments.Add((BinaryPrimitives.ReadUInt64LittleEndian(ph[0x10..]), BinaryPrimitives.ReadUInt64LittleEndian(ph[0x08..]),
                        BinaryPrimitives.ReadUInt64LittleEndian(ph[0x20..])));
                }
            }

            var strtab = span[(int)(shoff + (ulong)(shstrndx * shentsize))..];
            var names = (int)BinaryPrimitives.ReadUInt64LittleEndian(strtab[0x18..]);
            for (var i = 0; i < shnum; i++)
            {
                var sh = span[(int)(shoff + (ulong)(i * shentsize))..];
                var nameStart = names + (int)BinaryPrimitives.ReadUInt32LittleEndian(sh);
                var name = System.Text.Encoding.ASCII.GetString(span[nameStart..(nameStart + span[nameStart..].IndexOf((byte)0))]);
                var addr = BinaryPrimitives.ReadUInt64LittleEndian(sh[0x10..]);
                _sections[name] = (addr, addr + BinaryPrimitives.ReadUInt64LittleEndian(sh[0x20..]));
            }
        }

        public static ElfImage Read(string path) => new(File.ReadAllBytes(path));

        public (ulong Start, ulong End) Section(string name) =>
            _sections.TryGetValue(name, out var s) ? s : throw new InvalidDataException($"no section {name}");

        public ulong FileOffset(ulong vaddr)
        {
            foreach (var (start, offset, size) in _segments)
            {
                if (vaddr >= start && vaddr < start + size)
                {
                    return vaddr - start + offset;
                }
            }

            throw new InvalidDataException($"address 0x{vaddr:x} is in no loaded segment");
        }

        public ReadOnlySpan<byte> Bytes(ulong vaddr, int length) => _file.AsSpan((int)FileOffset(vaddr), length);
    }
}
