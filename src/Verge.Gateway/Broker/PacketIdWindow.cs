namespace Verge.Gateway.Broker;

/// <summary>Who sent a QoS 1 or 2 PUBLISH, and so who takes its acknowledgement.</summary>
internal enum PacketOwner
{
    /// <summary>Not an identifier in flight on this connection.</summary>
    None,

    /// <summary>The QoS 1 fast path (<see cref="DirectDelivery"/>): its PUBACK ends there.</summary>
    Direct,

    /// <summary>MQTTnet's session: its PUBACK or PUBCOMP goes on to MQTTnet.</summary>
    Server,
}

/// <summary>
/// The packet identifiers of the QoS 1 and 2 PUBLISH packets the broker has sent on one connection and the client has
/// not acknowledged yet. On a connection the QoS 1 fast path serves, both the fast path and MQTTnet's session send such
/// packets, so one allocator hands out every identifier and remembers whose packet it was. Identifiers go out in
/// sequence; the ones in flight lie between the oldest unacknowledged and the next, one bit each (the bit array grows
/// with that span, 8 bytes to start with). At most <see cref="MaxInFlight"/> may be in flight: past that
/// <see cref="Take"/> refuses, as a client that leaves that many unacknowledged is not reading its acknowledgements.
/// </summary>
internal sealed class PacketIdWindow
{
    /// <summary>Half the identifier space: the span from oldest to next always fits it, however identifiers wrap.</summary>
    public const int MaxInFlight = 32 * 1024;

    private readonly Lock _gate = new();
    private ulong[] _bits = new ulong[1];
    private HashSet<ushort>? _server;
    private ushort _oldest = 1;
    private ushort _next = 1;
    private int _count;

    /// <summary>Identifiers taken and not yet released.</summary>
    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>The next free identifier, now in flight for <paramref name="owner"/>; 0 when the window is full.</summary>
    public ushort Take(PacketOwner owner)
    {
        lock (_gate)
        {
            // The slots from the oldest identifier in flight to the next one, this one included (0 is skipped, its
            // slot stays empty): the bit array must hold them all without two sharing a bit.
            var id = _next;
            var next = id == ushort.MaxValue ? (ushort)1 : (ushort)(id + 1);
            var span = (ushort)(next - _oldest);
            if (_count >= MaxInFlight || span > MaxInFlight)
            {
                return 0;
            }

            if (span > _bits.Length * 64)
            {
                Grow(span);
            }

            _next = next;
            _bits[Index(id)] |= Bit(id);
            _count++;
            if (owner == PacketOwner.Server)
            {
                (_server ??= []).Add(id);
            }

            return id;
        }
    }

    /// <summary>Releases an acknowledged identifier; says whose packet it was (<see cref="PacketOwner.None"/> if none).</summary>
    public PacketOwner Release(ushort id)
    {
        lock (_gate)
        {
            if (id == 0 || (ushort)(id - _oldest) >= (ushort)(_next - _oldest) || (_bits[Index(id)] & Bit(id)) == 0)
            {
                return PacketOwner.None;
            }

            _bits[Index(id)] &= ~Bit(id);
            _count--;
            var owner = _server is not null && _server.Remove(id) ? PacketOwner.Server : PacketOwner.Direct;
            while (_oldest != _next && (_bits[Index(_oldest)] & Bit(_oldest)) == 0)
            {
                _oldest++;
            }

            return owner;
        }
    }

    private int Index(ushort id) => (id & ((_bits.Length * 64) - 1)) >> 6;

    private static ulong Bit(ushort id) => 1UL << (id & 63);

    private void Grow(int needed)
    {
        var words = _bits.Length;
        while (words * 64 < needed)
        {
            words *= 2;
        }

        var old = _bits;
        var oldMask = (old.Length * 64) - 1;
        _bits = new ulong[words];
        for (var id = _oldest; id != _next; id++)
        {
            if ((old[(id & oldMask) >> 6] & Bit(id)) != 0)
            {
                _bits[Index(id)] |= Bit(id);
            }
        }
    }
}
