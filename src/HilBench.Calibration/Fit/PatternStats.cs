using System.Buffers.Binary;
using System.Numerics;
using HilBench.Calibration.Import;
using HilBench.Memory.Geometry;

namespace HilBench.Calibration.Fit;

/// <summary>Written images and their ones per block, computed once per pattern.</summary>
internal sealed class PatternStats(MemoryGeometry geometry)
{
    private readonly Dictionary<string, byte[]> _images = [];
    private readonly Dictionary<string, long[]> _ones = [];

    public MemoryGeometry Geometry { get; } = geometry;

    public byte[] Image(WrittenPattern pattern)
    {
        if (!_images.TryGetValue(pattern.Name, out var image)) _images[pattern.Name] = image = pattern.Image(Geometry);
        return image;
    }

    public static bool Bit(byte[] image, long cell) => (image[cell >> 3] >> (int)(cell & 7) & 1) != 0;

    /// <summary>Stored ones per block.</summary>
    public long[] OnesPerBlock(WrittenPattern pattern)
    {
        if (_ones.TryGetValue(pattern.Name, out var ones)) return ones;
        var image = Image(pattern);
        ones = new long[Geometry.Blocks];
        long bpb = Geometry.BitsPerBlock;
        for (int b = 0; b < Geometry.Blocks; b++)
        {
            long start = b * bpb, end = start + bpb, c = start;
            for (; c < end && (c & 7) != 0; c++) if (Bit(image, c)) ones[b]++;
            for (; c + 8 <= end; c += 8) ones[b] += BitOperations.PopCount(image[c >> 3]);
            for (; c < end; c++) if (Bit(image, c)) ones[b]++;
        }
        _ones[pattern.Name] = ones;
        return ones;
    }

    /// <summary>
    /// Per block, how many cells have each signature: bit p of a signature is the bit pattern p stores there. With
    /// P patterns there are 2^P signatures.
    /// </summary>
    public long[][] SignatureCounts(IReadOnlyList<byte[]> images)
    {
        int p = images.Count, sigs = 1 << p;
        long bpb = Geometry.BitsPerBlock;
        var counts = new long[Geometry.Blocks][];
        var words = new ulong[Math.Max(1, p)];
        for (int b = 0; b < Geometry.Blocks; b++)
        {
            var cnt = counts[b] = new long[sigs];
            long start = b * bpb, end = start + bpb, c = start;
            for (; c < end && (c & 63) != 0; c++) cnt[Signature(images, c)]++;
            for (; c + 64 <= end; c += 64)
            {
                for (int i = 0; i < p; i++) words[i] = BinaryPrimitives.ReadUInt64LittleEndian(images[i].AsSpan((int)(c >> 3)));
                for (int s = 0; s < sigs; s++)
                {
                    ulong m = ulong.MaxValue;
                    for (int i = 0; i < p; i++) m &= (s >> i & 1) != 0 ? words[i] : ~words[i];
                    cnt[s] += BitOperations.PopCount(m);
                }
            }
            for (; c < end; c++) cnt[Signature(images, c)]++;
        }
        return counts;
    }

    public static int Signature(IReadOnlyList<byte[]> images, long cell)
    {
        int sig = 0;
        for (int i = 0; i < images.Count; i++)
            if (Bit(images[i], cell)) sig |= 1 << i;
        return sig;
    }
}
