using System.Runtime.CompilerServices;
namespace HilBench.Bnn.Kernels;

/// <summary>
/// Gathers the 3x3 neighbourhood of every position of a channels-last feature map into one row,
/// ordered [kh][kw][c] like the conv weights, so a convolution becomes a dense product.
/// Out-of-map taps are left zero: for pixels that is exact zero padding; for packed bits the
/// conv layer adds a per-border correction (see <see cref="ConvBorder"/>).
/// </summary>
internal static class Im2Col
{
    /// <summary>
    /// Every in-map tap of a height x width map: (destination tap index = position * 9 + tap, source
    /// position). Out-of-map taps are absent. Cached per map size, so the traversal is written once.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int, int), (int Tap, int Source)[]> TapTables = new();

    private static (int Tap, int Source)[] Taps(int height, int width) => TapTables.GetOrAdd((height, width), _ =>
    {
        var taps = new List<(int, int)>();
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++)
                    {
                        int iy = y + kh - 1, ix = x + kw - 1;
                        if ((uint)iy < (uint)height && (uint)ix < (uint)width)
                            taps.Add(((y * width + x) * 9 + kh * 3 + kw, iy * width + ix));
                    }
        return taps.ToArray();
    });

    /// <summary>Pixels, any channel count: each patch row is the 3x3 neighbourhood, out-of-map taps zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Pixels(ReadOnlySpan<byte> map, int height, int width, int channels, Span<byte> patches)
    {
        int size = height * width * channels;
        if (map.Length < size || patches.Length < 9 * size) throw new ArgumentException("map or patch buffer shorter than the feature map needs");
        fixed (byte* m = map, p = patches)
        {
            byte* dst = p;
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    bool interior = x > 0 && x < width - 1;
                    for (int kh = 0; kh < 3; kh++, dst += 3 * channels)
                    {
                        int iy = y + kh - 1;
                        if ((uint)iy >= (uint)height) new Span<byte>(dst, 3 * channels).Clear();
                        else if (interior) Copy(m + (iy * width + x - 1) * channels, dst, 3 * channels);
                        else
                            for (int kw = 0; kw < 3; kw++)
                            {
                                int ix = x + kw - 1;
                                if ((uint)ix < (uint)width) Copy(m + (iy * width + ix) * channels, dst + kw * channels, channels);
                                else new Span<byte>(dst + kw * channels, channels).Clear();
                            }
                    }
                }
        }

        // A row of the 3x3 window is contiguous in the map. Few bytes (1 or 3 channels): a plain loop beats a memmove call.
        static void Copy(byte* src, byte* dst, int count)
        {
            if (count < 32)
                for (int c = 0; c < count; c++) dst[c] = src[c];
            else
                Buffer.MemoryCopy(src, dst, count, count);
        }
    }

    /// <summary>Packed version: the map is one bit row of height*width*channels bits; each patch row has patchWords words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Bits(ReadOnlySpan<ulong> map, int height, int width, int channels, Span<ulong> patches, int patchWords)
    {
        if ((channels & 63) == 0)
        {
            WordAlignedBits(map, height, width, channels >> 6, patches, patchWords);
            return;
        }
        patches[..(height * width * patchWords)].Clear();
        foreach (var (tap, source) in Taps(height, width))
            CopyBits(map, source * channels, patches.Slice(tap / 9 * patchWords, patchWords), tap % 9 * channels, channels);
    }

    /// <summary>Whole words per position (channels a multiple of 64, as in the VGG3): taps are word copies.</summary>
    private static void WordAlignedBits(ReadOnlySpan<ulong> map, int height, int width, int wordsPerPosition, Span<ulong> patches, int patchWords)
    {
        int cw = wordsPerPosition;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var patch = patches.Slice((y * width + x) * patchWords, patchWords);
                for (int kh = 0; kh < 3; kh++)
                {
                    int iy = y + kh - 1;
                    for (int kw = 0; kw < 3; kw++)
                    {
                        int ix = x + kw - 1;
                        int to = (kh * 3 + kw) * cw;
                        if ((uint)iy < (uint)height && (uint)ix < (uint)width)
                        {
                            int from = (iy * width + ix) * cw;
                            for (int k = 0; k < cw; k++) patch[to + k] = map[from + k];
                        }
                        else
                            for (int k = 0; k < cw; k++) patch[to + k] = 0;
                    }
                }
                patch[(9 * cw)..].Clear();
            }
    }

    /// <summary>Float version for training: padded taps stay 0, so the weight gradient sees exactly the valid taps.</summary>
    public static void Floats(ReadOnlySpan<float> map, int height, int width, int channels, Span<float> patches)
    {
        patches[..(height * width * 9 * channels)].Clear();
        foreach (var (tap, source) in Taps(height, width))
            map.Slice(source * channels, channels).CopyTo(patches.Slice(tap * channels, channels));
    }

    /// <summary>The adjoint of <see cref="Floats"/>: adds every patch entry back onto the map position it came from.</summary>
    public static void Scatter(ReadOnlySpan<float> patches, int height, int width, int channels, Span<float> map)
    {
        map[..(height * width * channels)].Clear();
        foreach (var (tap, source) in Taps(height, width))
        {
            var src = patches.Slice(tap * channels, channels);
            var dst = map.Slice(source * channels, channels);
            for (int c = 0; c < channels; c++) dst[c] += src[c];
        }
    }

    /// <summary>
    /// Copies count bits; the destination bits are zero beforehand (they are ORed in). Not
    /// <see cref="Tensors.PackedBits.Copy"/>, which overwrites: for im2col's short runs into zeroed patches
    /// this is about a third faster.
    /// </summary>
    public static void CopyBits(ReadOnlySpan<ulong> src, int srcBit, Span<ulong> dst, int dstBit, int count)
    {
        if (((srcBit | dstBit | count) & 63) == 0)
        {
            for (int w = 0; w < count >> 6; w++) dst[(dstBit >> 6) + w] = src[(srcBit >> 6) + w];
            return;
        }
        while (count > 0)
        {
            int sOff = srcBit & 63, dOff = dstBit & 63;
            int take = Math.Min(count, Math.Min(64 - sOff, 64 - dOff));
            ulong bits = src[srcBit >> 6] >> sOff;
            if (take < 64) bits &= (1UL << take) - 1;
            dst[dstBit >> 6] |= bits << dOff;
            srcBit += take;
            dstBit += take;
            count -= take;
        }
    }
}
