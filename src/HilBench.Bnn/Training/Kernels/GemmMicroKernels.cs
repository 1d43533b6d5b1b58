using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HilBench.Bnn.Training.Kernels;

/// <summary>
/// A register-blocked GEMM micro-kernel: one MR x NR tile of C from an MR-row panel of packed A
/// (kc steps of MR values) and an NR-column panel of packed B (kc steps of NR values).
/// Every element's sum starts at zero and adds the kc products in order; the tile is then
/// written as <c>beta == 0 ? acc : fma(beta, c, acc)</c> (the scalar kernel does not fuse).
/// </summary>
internal unsafe interface IGemmMicroKernel
{
    static abstract int MR { get; }
    static abstract int NR { get; }

    /// <summary>True when the final <c>beta * c + acc</c> is fused (it must match <see cref="Merge"/>).</summary>
    static abstract bool Fused { get; }

    static abstract void Run(int kc, float* a, float* b, float* c, nint ldc, float beta);
}

/// <summary>AVX-512: a 12 x 32 tile of C in 24 zmm accumulators; per k step two B loads, twelve broadcasts.</summary>
internal unsafe struct GemmKernel512 : IGemmMicroKernel
{
    public static int MR => 12;
    public static int NR => 32;
    public static bool Fused => true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float beta)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]);
            c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]);
            c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
            x = Vector512.Create(a[8]);
            c80 = Avx512F.FusedMultiplyAdd(x, b0, c80); c81 = Avx512F.FusedMultiplyAdd(x, b1, c81);
            x = Vector512.Create(a[9]);
            c90 = Avx512F.FusedMultiplyAdd(x, b0, c90); c91 = Avx512F.FusedMultiplyAdd(x, b1, c91);
            x = Vector512.Create(a[10]);
            ca0 = Avx512F.FusedMultiplyAdd(x, b0, ca0); ca1 = Avx512F.FusedMultiplyAdd(x, b1, ca1);
            x = Vector512.Create(a[11]);
            cb0 = Avx512F.FusedMultiplyAdd(x, b0, cb0); cb1 = Avx512F.FusedMultiplyAdd(x, b1, cb1);
            a += 12;
            b += 32;
        }
        if (beta == 0f)
        {
            Put(c, c00, c01); Put(c += ldc, c10, c11); Put(c += ldc, c20, c21); Put(c += ldc, c30, c31);
            Put(c += ldc, c40, c41); Put(c += ldc, c50, c51); Put(c += ldc, c60, c61); Put(c += ldc, c70, c71);
            Put(c += ldc, c80, c81); Put(c += ldc, c90, c91); Put(c += ldc, ca0, ca1); Put(c += ldc, cb0, cb1);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Add(c, vb, c00, c01); Add(c += ldc, vb, c10, c11); Add(c += ldc, vb, c20, c21); Add(c += ldc, vb, c30, c31);
            Add(c += ldc, vb, c40, c41); Add(c += ldc, vb, c50, c51); Add(c += ldc, vb, c60, c61); Add(c += ldc, vb, c70, c71);
            Add(c += ldc, vb, c80, c81); Add(c += ldc, vb, c90, c91); Add(c += ldc, vb, ca0, ca1); Add(c += ldc, vb, cb0, cb1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* c, Vector512<float> v0, Vector512<float> v1)
    {
        v0.Store(c);
        v1.Store(c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* c, Vector512<float> beta, Vector512<float> v0, Vector512<float> v1)
    {
        Avx512F.FusedMultiplyAdd(beta, Vector512.Load(c), v0).Store(c);
        Avx512F.FusedMultiplyAdd(beta, Vector512.Load(c + 16), v1).Store(c + 16);
    }
}

/// <summary>AVX2 + FMA: a 6 x 16 tile of C in 12 ymm accumulators (of the 16 AVX2 registers).</summary>
internal unsafe struct GemmKernel256 : IGemmMicroKernel
{
    public static int MR => 6;
    public static int NR => 16;
    public static bool Fused => true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float beta)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
            a += 6;
            b += 16;
        }
        if (beta == 0f)
        {
            Put(c, c00, c01); Put(c += ldc, c10, c11); Put(c += ldc, c20, c21);
            Put(c += ldc, c30, c31); Put(c += ldc, c40, c41); Put(c += ldc, c50, c51);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Add(c, vb, c00, c01); Add(c += ldc, vb, c10, c11); Add(c += ldc, vb, c20, c21);
            Add(c += ldc, vb, c30, c31); Add(c += ldc, vb, c40, c41); Add(c += ldc, vb, c50, c51);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* c, Vector256<float> v0, Vector256<float> v1)
    {
        v0.Store(c);
        v1.Store(c + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* c, Vector256<float> beta, Vector256<float> v0, Vector256<float> v1)
    {
        Fma.MultiplyAdd(beta, Vector256.Load(c), v0).Store(c);
        Fma.MultiplyAdd(beta, Vector256.Load(c + 8), v1).Store(c + 8);
    }
}

/// <summary>Portable fallback: a 4 x 4 tile in scalar registers, multiply then add (not fused).</summary>
internal unsafe struct GemmKernelScalar : IGemmMicroKernel
{
    public static int MR => 4;
    public static int NR => 4;
    public static bool Fused => false;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float beta)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int p = 0; p < kc; p++)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float x = a[0];
            c00 += x * b0; c01 += x * b1; c02 += x * b2; c03 += x * b3;
            x = a[1];
            c10 += x * b0; c11 += x * b1; c12 += x * b2; c13 += x * b3;
            x = a[2];
            c20 += x * b0; c21 += x * b1; c22 += x * b2; c23 += x * b3;
            x = a[3];
            c30 += x * b0; c31 += x * b1; c32 += x * b2; c33 += x * b3;
            a += 4;
            b += 4;
        }
        Row(c, beta, c00, c01, c02, c03);
        Row(c + ldc, beta, c10, c11, c12, c13);
        Row(c + 2 * ldc, beta, c20, c21, c22, c23);
        Row(c + 3 * ldc, beta, c30, c31, c32, c33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(float* c, float beta, float v0, float v1, float v2, float v3)
    {
        if (beta == 0f)
        {
            c[0] = v0; c[1] = v1; c[2] = v2; c[3] = v3;
        }
        else
        {
            c[0] = beta * c[0] + v0; c[1] = beta * c[1] + v1; c[2] = beta * c[2] + v2; c[3] = beta * c[3] + v3;
        }
    }
}
