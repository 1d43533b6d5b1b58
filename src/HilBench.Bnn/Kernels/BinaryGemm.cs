using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HilBench.Bnn.Tensors;

namespace HilBench.Bnn.Kernels;

/// <summary>
/// Binarized matrix product: for every input row r (packed +-1 activations) and weight row o,
/// a[r, o] = n - 2 * popcount(x_r XOR w_o), where n is the number of valid bits. Padding bits of
/// both operands are zero, so whole words can be XORed.
/// The vector paths share each weight load between four input rows and count bits with a nibble
/// lookup table (vpshufb), because .NET exposes no vector popcount instruction.
/// </summary>
internal static unsafe class BinaryGemm
{
    /// <summary>Byte-wise popcounts can be summed this many times before a byte overflows (8 * 31 = 248).</summary>
    internal const int FlushEvery = 31;

    /// <summary>Popcount of every 4-bit value, repeated in each 128-bit lane for vpshufb.</summary>
    internal static Vector512<byte> NibbleCounts512 => Vector512.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);

    internal static Vector256<byte> NibbleCounts256 => Vector256.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);

    public static void Run(KernelPath path, ReadOnlySpan<ulong> x, int rows, BitMatrix w, Span<int> a, int aStride)
    {
        int words = w.WordsPerRow;
        if (x.Length < rows * words) throw new ArgumentException("input rows are shorter than the weight rows");
        if (aStride < w.Rows || a.Length < (rows - 1) * aStride + w.Rows) throw new ArgumentException("output buffer too small");
        fixed (ulong* px = x, pw = w.Words)
        fixed (int* pa = a)
        {
            switch (path)
            {
                case KernelPath.Vector512: Run512(px, rows, pw, w.Rows, words, w.Columns, pa, aStride); break;
                case KernelPath.Vector256: Run256(px, rows, pw, w.Rows, words, w.Columns, pa, aStride); break;
                default: RunScalar(px, rows, pw, w.Rows, words, w.Columns, pa, aStride); break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunScalar(ulong* x, int rows, ulong* w, int outs, int words, int n, int* a, int aStride)
    {
        for (int r = 0; r < rows; r++)
        {
            ulong* xr = x + (long)r * words;
            for (int o = 0; o < outs; o++)
                a[(long)r * aStride + o] = n - 2 * ScalarCount(xr, w + (long)o * words, 0, words);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ScalarCount(ulong* x, ulong* w, int from, int words)
    {
        int c = 0;
        for (int i = from; i < words; i++) c += BitOperations.PopCount(x[i] ^ w[i]);
        return c;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run512(ulong* x, int rows, ulong* w, int outs, int words, int n, int* a, int aStride)
    {
        const int lanes = 8;
        int chunks = words / lanes, tail = chunks * lanes;
        var lut = NibbleCounts512;
        var nib = Vector512.Create((byte)0x0F);
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            ulong* x0 = x + (long)r * words, x1 = x0 + words, x2 = x1 + words, x3 = x2 + words;
            for (int o = 0; o < outs; o++)
            {
                ulong* wo = w + (long)o * words;
                Vector512<ulong> t0 = default, t1 = default, t2 = default, t3 = default;
                for (int c = 0; c < chunks;)
                {
                    int end = Math.Min(chunks, c + FlushEvery);
                    Vector512<byte> b0 = default, b1 = default, b2 = default, b3 = default;
                    for (; c < end; c++)
                    {
                        var wv = Vector512.Load(wo + c * lanes);
                        b0 += Count512(wv ^ Vector512.Load(x0 + c * lanes), lut, nib);
                        b1 += Count512(wv ^ Vector512.Load(x1 + c * lanes), lut, nib);
                        b2 += Count512(wv ^ Vector512.Load(x2 + c * lanes), lut, nib);
                        b3 += Count512(wv ^ Vector512.Load(x3 + c * lanes), lut, nib);
                    }
                    t0 += Avx512BW.SumAbsoluteDifferences(b0, Vector512<byte>.Zero).AsUInt64();
                    t1 += Avx512BW.SumAbsoluteDifferences(b1, Vector512<byte>.Zero).AsUInt64();
                    t2 += Avx512BW.SumAbsoluteDifferences(b2, Vector512<byte>.Zero).AsUInt64();
                    t3 += Avx512BW.SumAbsoluteDifferences(b3, Vector512<byte>.Zero).AsUInt64();
                }
                int* ao = a + (long)r * aStride + o;
                ao[0] = n - 2 * ((int)Vector512.Sum(t0) + ScalarCount(x0, wo, tail, words));
                ao[aStride] = n - 2 * ((int)Vector512.Sum(t1) + ScalarCount(x1, wo, tail, words));
                ao[2 * aStride] = n - 2 * ((int)Vector512.Sum(t2) + ScalarCount(x2, wo, tail, words));
                ao[3 * aStride] = n - 2 * ((int)Vector512.Sum(t3) + ScalarCount(x3, wo, tail, words));
            }
        }
        for (; r < rows; r++)
        {
            ulong* xr = x + (long)r * words;
            for (int o = 0; o < outs; o++)
            {
                ulong* wo = w + (long)o * words;
                Vector512<ulong> t = default;
                for (int c = 0; c < chunks;)
                {
                    int end = Math.Min(chunks, c + FlushEvery);
                    Vector512<byte> b = default;
                    for (; c < end; c++) b += Count512(Vector512.Load(wo + c * lanes) ^ Vector512.Load(xr + c * lanes), lut, nib);
                    t += Avx512BW.SumAbsoluteDifferences(b, Vector512<byte>.Zero).AsUInt64();
                }
                a[(long)r * aStride + o] = n - 2 * ((int)Vector512.Sum(t) + ScalarCount(xr, wo, tail, words));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<byte> Count512(Vector512<ulong> v, Vector512<byte> lut, Vector512<byte> nib)
    {
        var bytes = v.AsByte();
        var high = Avx512BW.ShiftRightLogical(v.AsUInt16(), 4).AsByte();
        return Avx512BW.Shuffle(lut, bytes & nib) + Avx512BW.Shuffle(lut, high & nib);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run256(ulong* x, int rows, ulong* w, int outs, int words, int n, int* a, int aStride)
    {
        const int lanes = 4;
        int chunks = words / lanes, tail = chunks * lanes;
        var lut = NibbleCounts256;
        var nib = Vector256.Create((byte)0x0F);
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            ulong* x0 = x + (long)r * words, x1 = x0 + words, x2 = x1 + words, x3 = x2 + words;
            for (int o = 0; o < outs; o++)
            {
                ulong* wo = w + (long)o * words;
                Vector256<ulong> t0 = default, t1 = default, t2 = default, t3 = default;
                for (int c = 0; c < chunks;)
                {
                    int end = Math.Min(chunks, c + FlushEvery);
                    Vector256<byte> b0 = default, b1 = default, b2 = default, b3 = default;
                    for (; c < end; c++)
                    {
                        var wv = Vector256.Load(wo + c * lanes);
                        b0 += Count256(wv ^ Vector256.Load(x0 + c * lanes), lut, nib);
                        b1 += Count256(wv ^ Vector256.Load(x1 + c * lanes), lut, nib);
                        b2 += Count256(wv ^ Vector256.Load(x2 + c * lanes), lut, nib);
                        b3 += Count256(wv ^ Vector256.Load(x3 + c * lanes), lut, nib);
                    }
                    t0 += Avx2.SumAbsoluteDifferences(b0, Vector256<byte>.Zero).AsUInt64();
                    t1 += Avx2.SumAbsoluteDifferences(b1, Vector256<byte>.Zero).AsUInt64();
                    t2 += Avx2.SumAbsoluteDifferences(b2, Vector256<byte>.Zero).AsUInt64();
                    t3 += Avx2.SumAbsoluteDifferences(b3, Vector256<byte>.Zero).AsUInt64();
                }
                int* ao = a + (long)r * aStride + o;
                ao[0] = n - 2 * ((int)Vector256.Sum(t0) + ScalarCount(x0, wo, tail, words));
                ao[aStride] = n - 2 * ((int)Vector256.Sum(t1) + ScalarCount(x1, wo, tail, words));
                ao[2 * aStride] = n - 2 * ((int)Vector256.Sum(t2) + ScalarCount(x2, wo, tail, words));
                ao[3 * aStride] = n - 2 * ((int)Vector256.Sum(t3) + ScalarCount(x3, wo, tail, words));
            }
        }
        for (; r < rows; r++)
        {
            ulong* xr = x + (long)r * words;
            for (int o = 0; o < outs; o++)
            {
                ulong* wo = w + (long)o * words;
                Vector256<ulong> t = default;
                for (int c = 0; c < chunks;)
                {
                    int end = Math.Min(chunks, c + FlushEvery);
                    Vector256<byte> b = default;
                    for (; c < end; c++) b += Count256(Vector256.Load(wo + c * lanes) ^ Vector256.Load(xr + c * lanes), lut, nib);
                    t += Avx2.SumAbsoluteDifferences(b, Vector256<byte>.Zero).AsUInt64();
                }
                a[(long)r * aStride + o] = n - 2 * ((int)Vector256.Sum(t) + ScalarCount(xr, wo, tail, words));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> Count256(Vector256<ulong> v, Vector256<byte> lut, Vector256<byte> nib)
    {
        var bytes = v.AsByte();
        var high = Avx2.ShiftRightLogical(v.AsUInt16(), 4).AsByte();
        return Avx2.Shuffle(lut, bytes & nib) + Avx2.Shuffle(lut, high & nib);
    }
}
