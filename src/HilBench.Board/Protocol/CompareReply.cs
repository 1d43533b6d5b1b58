using System.Buffers.Binary;

namespace HilBench.Board.Protocol;

/// <summary>
/// One COMPARE reply (PROTOCOL.md §3.3): the differing bit addresses of the part compared, where the comparison
/// stopped and whether it is done. On the wire the bits are LEB128 gaps: the first from 8 * address, each next
/// from the previous bit + 1, so a sparse fault list costs about two bytes a bit.
/// </summary>
public sealed record CompareReply(long[] Bits, uint Next, bool Done)
{
    public const int HeaderLength = 9;

    private const long MaxCells = 8L << 32;

    public int Count => Bits.Length;

    /// <summary>Parses a reply to a COMPARE that started at byte <paramref name="address"/>.</summary>
    public static CompareReply Parse(ReadOnlySpan<byte> p, uint address)
    {
        if (p.Length < HeaderLength) throw BoardProtocolException.WrongSize(Command.Compare, p.Length, "at least 9 (count, next, done)");
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(p);
        uint next = BinaryPrimitives.ReadUInt32LittleEndian(p[4..]);
        byte done = p[8];
        if (done > 1) throw new BoardProtocolException($"COMPARE reply: done is {done}, must be 0 or 1");
        var gaps = p[HeaderLength..];
        // Every varint takes at least one byte, so a count beyond the bytes left is a lie, not a reason to allocate.
        if (count > (uint)gaps.Length)
            throw BoardProtocolException.WrongSize(Command.Compare, p.Length, $"at least {HeaderLength + (long)count} for {count} bit addresses");
        if (next < address) throw new BoardProtocolException($"COMPARE reply: next byte address {next} is before the start {address}");
        var bits = new long[count];
        // Whether the bits lie before `next` is the caller's check (it knows the range it asked for); here they
        // only have to be cell numbers a 32-bit byte address can reach.
        long bit = 8L * address - 1;
        for (int i = 0; i < count; i++)
        {
            if (!Leb128.TryRead(gaps, out ulong gap, out int used))
                throw new BoardProtocolException($"COMPARE reply: varint {i + 1} of {count} is cut off or does not fit 64 bits ({gaps.Length} bytes left)");
            gaps = gaps[used..];
            if (gap >= (ulong)(MaxCells - bit - 1))
                throw new BoardProtocolException($"COMPARE reply: bit address {i + 1} of {count} (gap {gap} after bit {bit}) is beyond the last cell a 32-bit byte address reaches");
            bit += (long)gap + 1;
            bits[i] = bit;
        }
        if (!gaps.IsEmpty)
            throw BoardProtocolException.WrongSize(Command.Compare, p.Length, $"{p.Length - gaps.Length} for {count} bit addresses ({gaps.Length} bytes too many)");
        return new CompareReply(bits, next, done == 1);
    }

    /// <summary>The payload a board sends for these bits of a COMPARE that started at byte <paramref name="address"/>.</summary>
    public byte[] ToPayload(uint address)
    {
        int n = HeaderLength;
        long previous = 8L * address - 1;
        foreach (long b in Bits)
        {
            if (b <= previous) throw new ArgumentException($"bit addresses must be strictly increasing and at least {8L * address}; {b} follows {previous}");
            n += Leb128.Length((ulong)(b - previous - 1));
            previous = b;
        }
        var p = new byte[n];
        BinaryPrimitives.WriteUInt32LittleEndian(p, (uint)Bits.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(4), Next);
        p[8] = Done ? (byte)1 : (byte)0;
        int o = HeaderLength;
        previous = 8L * address - 1;
        foreach (long b in Bits)
        {
            o += Leb128.Write((ulong)(b - previous - 1), p.AsSpan(o));
            previous = b;
        }
        return p;
    }
}
