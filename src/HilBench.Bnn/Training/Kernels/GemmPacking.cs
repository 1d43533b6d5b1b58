using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HilBench.Bnn.Training.Kernels;

/// <summary>
/// Copies strided operands into the contiguous panels the micro-kernels read. A panel of op(A)
/// holds, for every k step p, the MR values of rows i..i+MR (dst[p * MR + r]); a panel of op(B)
/// holds, for every p, the NR values of columns j..j+NR (dst[p * NR + c]). Rows or columns past the
/// matrix are zero. Packing only copies, so every path packs bit-identical panels; where the
/// source runs along k (A not transposed, B transposed) AVX-512 packs 16 x 16 blocks through a
/// register transpose.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs one panel: dst[p * width + r] = src[r * rowStride + p * kStride] for r &lt; rows and
    /// p &lt; kc, zero for rows &lt;= r &lt; width. Used for A panels (rows = rows of op(A)) and B panels
    /// (rows = columns of op(B)).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(float* src, nint rowStride, nint kStride, int rows, int kc, int width, float* dst, bool avx512)
    {
        if (kStride == 1 && rowStride != 1) PackAlongK(src, rowStride, rows, kc, width, dst, avx512);
        else PackAcrossK(src, rowStride, kStride, rows, kc, width, dst);
    }

    /// <summary>Source rows are contiguous along k: a transpose.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackAlongK(float* src, nint rowStride, int rows, int kc, int width, float* dst, bool avx512)
    {
        int p = 0;
        if (avx512 && Avx512F.IsSupported && width % 4 == 0)
        {
            for (; p + 16 <= kc; p += 16)
            {
                for (int r0 = 0; r0 < width; r0 += 16)
                {
                    int rowsHere = Math.Min(rows - r0, 16);
                    int widthHere = Math.Min(width - r0, 16);
                    if (rowsHere <= 0)
                    {
                        for (int t = 0; t < 16; t++) Clear(dst + (p + t) * (nint)width + r0, widthHere);
                    }
                    else
                    {
                        Transpose16x16(src + r0 * rowStride + p, rowStride, rowsHere, dst + p * (nint)width + r0, width, widthHere);
                    }
                }
            }
        }
        if (p == kc) return;
        for (int r = 0; r < width; r++)
        {
            float* d = dst + r;
            if (r < rows)
            {
                float* s = src + r * rowStride;
                for (int q = p; q < kc; q++) d[q * (nint)width] = s[q];
            }
            else
            {
                for (int q = p; q < kc; q++) d[q * (nint)width] = 0f;
            }
        }
    }

    /// <summary>Source is contiguous (or strided) across the panel: a copy per k step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackAcrossK(float* src, nint rowStride, nint kStride, int rows, int kc, int width, float* dst)
    {
        if (rowStride == 1 && rows == width)
        {
            switch (width)
            {
                case 32:
                    for (int p = 0; p < kc; p++, dst += 32)
                    {
                        float* s = src + p * kStride;
                        Vector256.Load(s).Store(dst); Vector256.Load(s + 8).Store(dst + 8);
                        Vector256.Load(s + 16).Store(dst + 16); Vector256.Load(s + 24).Store(dst + 24);
                    }
                    return;
                case 16:
                    for (int p = 0; p < kc; p++, dst += 16)
                    {
                        float* s = src + p * kStride;
                        Vector256.Load(s).Store(dst); Vector256.Load(s + 8).Store(dst + 8);
                    }
                    return;
                case 12:
                    for (int p = 0; p < kc; p++, dst += 12)
                    {
                        float* s = src + p * kStride;
                        Vector256.Load(s).Store(dst); Vector128.Load(s + 8).Store(dst + 8);
                    }
                    return;
                case 8:
                    for (int p = 0; p < kc; p++, dst += 8) Vector256.Load(src + p * kStride).Store(dst);
                    return;
                case 6:
                    for (int p = 0; p < kc; p++, dst += 6)
                    {
                        float* s = src + p * kStride;
                        Vector128.Load(s).Store(dst); dst[4] = s[4]; dst[5] = s[5];
                    }
                    return;
                case 4:
                    for (int p = 0; p < kc; p++, dst += 4) Vector128.Load(src + p * kStride).Store(dst);
                    return;
            }
        }
        for (int p = 0; p < kc; p++, dst += width)
        {
            float* s = src + p * kStride;
            int r = 0;
            for (; r < rows; r++) dst[r] = s[r * rowStride];
            for (; r < width; r++) dst[r] = 0f;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Clear(float* d, int count)
    {
        for (int i = 0; i < count; i++) d[i] = 0f;
    }

    /// <summary>
    /// Transposes a 16 x 16 block: row r of the source (src + r * srcStride, 16 floats, zero for
    /// r &gt;= rows) becomes column r of the destination; the first <paramref name="width"/> values
    /// of each destination row t go to dst + t * dstStride.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Transpose16x16(float* src, nint srcStride, int rows, float* dst, nint dstStride, int width)
    {
        var r0 = Row(src, srcStride, 0, rows); var r1 = Row(src, srcStride, 1, rows);
        var r2 = Row(src, srcStride, 2, rows); var r3 = Row(src, srcStride, 3, rows);
        var r4 = Row(src, srcStride, 4, rows); var r5 = Row(src, srcStride, 5, rows);
        var r6 = Row(src, srcStride, 6, rows); var r7 = Row(src, srcStride, 7, rows);
        var r8 = Row(src, srcStride, 8, rows); var r9 = Row(src, srcStride, 9, rows);
        var r10 = Row(src, srcStride, 10, rows); var r11 = Row(src, srcStride, 11, rows);
        var r12 = Row(src, srcStride, 12, rows); var r13 = Row(src, srcStride, 13, rows);
        var r14 = Row(src, srcStride, 14, rows); var r15 = Row(src, srcStride, 15, rows);

        // Pairs of rows interleaved, then pairs of pairs: u[4g + e] holds column 4L + e of rows 4g..4g+3 in 128-bit lane L.
        var t0 = Avx512F.UnpackLow(r0, r1); var t1 = Avx512F.UnpackHigh(r0, r1);
        var t2 = Avx512F.UnpackLow(r2, r3); var t3 = Avx512F.UnpackHigh(r2, r3);
        var t4 = Avx512F.UnpackLow(r4, r5); var t5 = Avx512F.UnpackHigh(r4, r5);
        var t6 = Avx512F.UnpackLow(r6, r7); var t7 = Avx512F.UnpackHigh(r6, r7);
        var t8 = Avx512F.UnpackLow(r8, r9); var t9 = Avx512F.UnpackHigh(r8, r9);
        var t10 = Avx512F.UnpackLow(r10, r11); var t11 = Avx512F.UnpackHigh(r10, r11);
        var t12 = Avx512F.UnpackLow(r12, r13); var t13 = Avx512F.UnpackHigh(r12, r13);
        var t14 = Avx512F.UnpackLow(r14, r15); var t15 = Avx512F.UnpackHigh(r14, r15);

        var u0 = LoPd(t0, t2); var u1 = HiPd(t0, t2); var u2 = LoPd(t1, t3); var u3 = HiPd(t1, t3);
        var u4 = LoPd(t4, t6); var u5 = HiPd(t4, t6); var u6 = LoPd(t5, t7); var u7 = HiPd(t5, t7);
        var u8 = LoPd(t8, t10); var u9 = HiPd(t8, t10); var u10 = LoPd(t9, t11); var u11 = HiPd(t9, t11);
        var u12 = LoPd(t12, t14); var u13 = HiPd(t12, t14); var u14 = LoPd(t13, t15); var u15 = HiPd(t13, t15);

        // 128-bit lanes: even lanes (0x88) and odd lanes (0xDD) of rows 0-7 and of rows 8-15 ...
        var v0 = Avx512F.Shuffle4x128(u0, u4, 0x88); var v1 = Avx512F.Shuffle4x128(u1, u5, 0x88);
        var v2 = Avx512F.Shuffle4x128(u2, u6, 0x88); var v3 = Avx512F.Shuffle4x128(u3, u7, 0x88);
        var v4 = Avx512F.Shuffle4x128(u0, u4, 0xDD); var v5 = Avx512F.Shuffle4x128(u1, u5, 0xDD);
        var v6 = Avx512F.Shuffle4x128(u2, u6, 0xDD); var v7 = Avx512F.Shuffle4x128(u3, u7, 0xDD);
        var w0 = Avx512F.Shuffle4x128(u8, u12, 0x88); var w1 = Avx512F.Shuffle4x128(u9, u13, 0x88);
        var w2 = Avx512F.Shuffle4x128(u10, u14, 0x88); var w3 = Avx512F.Shuffle4x128(u11, u15, 0x88);
        var w4 = Avx512F.Shuffle4x128(u8, u12, 0xDD); var w5 = Avx512F.Shuffle4x128(u9, u13, 0xDD);
        var w6 = Avx512F.Shuffle4x128(u10, u14, 0xDD); var w7 = Avx512F.Shuffle4x128(u11, u15, 0xDD);

        // ... then joined: column 4L + e.
        Put(dst, dstStride, 0, width, Avx512F.Shuffle4x128(v0, w0, 0x88));
        Put(dst, dstStride, 1, width, Avx512F.Shuffle4x128(v1, w1, 0x88));
        Put(dst, dstStride, 2, width, Avx512F.Shuffle4x128(v2, w2, 0x88));
        Put(dst, dstStride, 3, width, Avx512F.Shuffle4x128(v3, w3, 0x88));
        Put(dst, dstStride, 4, width, Avx512F.Shuffle4x128(v4, w4, 0x88));
        Put(dst, dstStride, 5, width, Avx512F.Shuffle4x128(v5, w5, 0x88));
        Put(dst, dstStride, 6, width, Avx512F.Shuffle4x128(v6, w6, 0x88));
        Put(dst, dstStride, 7, width, Avx512F.Shuffle4x128(v7, w7, 0x88));
        Put(dst, dstStride, 8, width, Avx512F.Shuffle4x128(v0, w0, 0xDD));
        Put(dst, dstStride, 9, width, Avx512F.Shuffle4x128(v1, w1, 0xDD));
        Put(dst, dstStride, 10, width, Avx512F.Shuffle4x128(v2, w2, 0xDD));
        Put(dst, dstStride, 11, width, Avx512F.Shuffle4x128(v3, w3, 0xDD));
        Put(dst, dstStride, 12, width, Avx512F.Shuffle4x128(v4, w4, 0xDD));
        Put(dst, dstStride, 13, width, Avx512F.Shuffle4x128(v5, w5, 0xDD));
        Put(dst, dstStride, 14, width, Avx512F.Shuffle4x128(v6, w6, 0xDD));
        Put(dst, dstStride, 15, width, Avx512F.Shuffle4x128(v7, w7, 0xDD));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Row(float* src, nint stride, int r, int rows) =>
        r < rows ? Vector512.Load(src + r * stride) : Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LoPd(Vector512<float> x, Vector512<float> y) =>
        Avx512F.UnpackLow(x.AsDouble(), y.AsDouble()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> HiPd(Vector512<float> x, Vector512<float> y) =>
        Avx512F.UnpackHigh(x.AsDouble(), y.AsDouble()).AsSingle();

    /// <summary>Stores the first <paramref name="width"/> (a multiple of 4) lanes of v at dst + t * stride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* dst, nint stride, int t, int width, Vector512<float> v)
    {
        float* d = dst + t * stride;
        if (width == 16)
        {
            v.Store(d);
            return;
        }
        if (width >= 8)
        {
            v.GetLower().Store(d);
            if (width == 12) v.GetUpper().GetLower().Store(d + 8);
        }
        else
        {
            v.GetLower().GetLower().Store(d);
        }
    }
}
