namespace HilBench.Board.Protocol;

/// <summary>Unsigned LEB128 varints (7 bits per byte, least significant group first, high bit = more follow), as COMPARE replies carry gaps.</summary>
public static class Leb128
{
    /// <summary>A u64 never needs more than 10 bytes.</summary>
    public const int MaxLength = 10;

    public static int Length(ulong value)
    {
        int n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }
        return n;
    }

    public static int Write(ulong value, Span<byte> destination)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Reads one varint; false when it runs past the end or does not fit 64 bits.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out ulong value, out int consumed)
    {
        value = 0;
        for (int i = 0; i < source.Length && i < MaxLength; i++)
        {
            ulong group = source[i] & 0x7Fu;
            if (i == MaxLength - 1 && group > 1) break;
            value |= group << (7 * i);
            if ((source[i] & 0x80) == 0)
            {
                consumed = i + 1;
                return true;
            }
        }
        value = 0;
        consumed = 0;
        return false;
    }
}
