namespace HilBench.Bnn.Tensors;

/// <summary>Single bits and bit ranges in packed word arrays (bit i is bit i % 64 of word i / 64), at any bit offset.</summary>
public static class PackedBits
{
    public static bool Get(ReadOnlySpan<ulong> words, long bit) => (words[(int)(bit >> 6)] >> (int)(bit & 63) & 1) != 0;

    public static void Set(Span<ulong> words, long bit, bool value)
    {
        ref ulong w = ref words[(int)(bit >> 6)];
        ulong mask = 1UL << (int)(bit & 63);
        w = value ? w | mask : w & ~mask;
    }

    /// <summary>Up to 64 bits starting at any bit offset.</summary>
    public static ulong Read(ReadOnlySpan<ulong> words, long bit, int count)
    {
        int w = (int)(bit >> 6), shift = (int)(bit & 63);
        ulong v = words[w] >> shift;
        if (shift != 0 && shift + count > 64) v |= words[w + 1] << (64 - shift);
        return count == 64 ? v : v & ((1UL << count) - 1);
    }

    /// <summary>Writes the low <paramref name="count"/> (1..64) bits of <paramref name="value"/> at any bit offset.</summary>
    public static void Write(Span<ulong> words, long bit, int count, ulong value)
    {
        int w = (int)(bit >> 6), shift = (int)(bit & 63);
        ulong mask = count == 64 ? ulong.MaxValue : (1UL << count) - 1;
        value &= mask;
        words[w] = words[w] & ~(mask << shift) | value << shift;
        if (shift != 0 && shift + count > 64)
        {
            int rest = 64 - shift;
            ulong high = mask >> rest;
            words[w + 1] = words[w + 1] & ~high | value >> rest;
        }
    }

    public static void Copy(ReadOnlySpan<ulong> source, long sourceBit, Span<ulong> target, long targetBit, long count)
    {
        if (((sourceBit | targetBit) & 63) == 0)
        {
            int whole = (int)(count >> 6);
            source.Slice((int)(sourceBit >> 6), whole).CopyTo(target.Slice((int)(targetBit >> 6), whole));
            long done = (long)whole << 6;
            if (done < count) Write(target, targetBit + done, (int)(count - done), Read(source, sourceBit + done, (int)(count - done)));
            return;
        }
        for (long i = 0; i < count; i += 64)
        {
            int n = (int)Math.Min(64, count - i);
            Write(target, targetBit + i, n, Read(source, sourceBit + i, n));
        }
    }
}
